package clc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCacheGetBuildsOnce(t *testing.T) {
	c := NewCache(t.TempDir())
	var builds atomic.Int32
	build := func() ([]byte, error) { builds.Add(1); return []byte("payload"), nil }
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Get("k1", build)
			if err != nil || string(got) != "payload" {
				t.Errorf("Get = %q, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
	// A fresh Cache on the same dir (another process) reads the entry.
	got, err := NewCache(c.Dir()).Get("k1", func() ([]byte, error) { return nil, errors.New("rebuilt") })
	if err != nil || string(got) != "payload" {
		t.Errorf("second cache: %q, %v", got, err)
	}
	// Errors are returned and not stored.
	boom := errors.New("boom")
	if _, err := c.Get("k2", func() ([]byte, error) { return nil, boom }); err != boom {
		t.Errorf("err = %v", err)
	}
	if got, _ := c.Get("k2", func() ([]byte, error) { return []byte("ok"), nil }); string(got) != "ok" {
		t.Errorf("after failure: %q", got)
	}
}

func TestCacheRebuildsCorruptEntry(t *testing.T) {
	c := NewCache(t.TempDir())
	if _, err := c.Get("k", func() ([]byte, error) { return []byte("good data"), nil }); err != nil {
		t.Fatal(err)
	}
	path := c.path("k")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated": raw[:len(raw)-3],
		"flipped":   append(append([]byte{}, raw[:len(raw)-1]...), raw[len(raw)-1]^1),
		"short":     raw[:10],
		"empty":     {},
	} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		rebuilt := false
		got, err := c.Get("k", func() ([]byte, error) { rebuilt = true; return []byte("good data"), nil })
		if err != nil || string(got) != "good data" || !rebuilt {
			t.Errorf("%s: got %q, %v, rebuilt %v", name, got, err, rebuilt)
		}
	}
	if NewCache("").Dir() != "" {
		t.Error("disabled cache has a dir")
	}
}

// TestCacheConcurrentProcesses has child processes (copies of this test
// binary) write the same keys as the parent at the same time; every reader
// must see a whole, correct entry.
func TestCacheConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("CLC_CACHE_CHILD_DIR"); dir != "" {
		cacheWriter(t, dir)
		return
	}
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCacheConcurrentProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CLC_CACHE_CHILD_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := cmd.Wait(); err != nil {
				t.Errorf("child: %v\n%s", err, out.String())
			}
		}()
	}
	cacheWriter(t, dir)
}

func cacheWriter(t *testing.T, dir string) {
	for round := 0; round < 200; round++ {
		c := NewCache(dir) // a new Cache each round: no in-process lock shared
		key := fmt.Sprintf("key-%d", round%10)
		want := bytes.Repeat([]byte(key), 5000)
		got, err := c.Get(key, func() ([]byte, error) { return want, nil })
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("round %d: %d bytes, %v", round, len(got), err)
		}
	}
}

func TestCompileUsesCache(t *testing.T) {
	tc := toolchain(t)
	cache := NewCache(t.TempDir())
	opts := Options{Build: "-DN=3", Cache: cache}
	src := sigSrc
	m1, err := tc.Compile(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Point the toolchain's clang at nothing: a second Compile must not run it.
	broken := *tc
	broken.ClangPath = filepath.Join(t.TempDir(), "no-clang")
	m2, err := broken.Compile(context.Background(), src, opts)
	if err != nil {
		t.Fatalf("cached compile ran clang: %v", err)
	}
	if m1.Key != m2.Key || !bytes.Equal(m1.BC, m2.BC) || !reflect.DeepEqual(m1.Kernels, m2.Kernels) || m2.Std != StdCL30 {
		t.Errorf("cached module differs")
	}
	if ll, err := m2.LL(context.Background()); err != nil || len(ll) == 0 {
		t.Errorf("LL of cached module: %v", err)
	}
	// Another option, another key.
	opts.Build = "-DN=4"
	_, err = broken.Compile(context.Background(), src, opts)
	var te *ToolError
	if !errors.As(err, &te) || errors.Is(err, ErrBuild) {
		t.Errorf("a different build string: %v, want the missing clang's *ToolError", err)
	}
	opts.Build, opts.Name = "-DN=3", "other.cl"
	if _, err := broken.Compile(context.Background(), src, opts); err == nil {
		t.Error("a different file name hit the cache")
	}
}

func TestCacheKey(t *testing.T) {
	if CacheKey("ab", "c") == CacheKey("a", "bc") {
		t.Error("CacheKey does not separate parts")
	}
	if CacheKey("x") != CacheKey("x") || len(CacheKey("x")) != 64 {
		t.Error("CacheKey not a stable sha256 hex")
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("SVMRT_CACHE", "")
	t.Setenv("SVMRT_CACHE_DIR", "/some/dir")
	if d := defaultCacheDir(); d != "/some/dir" {
		t.Errorf("SVMRT_CACHE_DIR: %q", d)
	}
	t.Setenv("SVMRT_CACHE", "off")
	if d := defaultCacheDir(); d != "" {
		t.Errorf("SVMRT_CACHE=off: %q", d)
	}
	t.Setenv("SVMRT_CACHE", "")
	t.Setenv("SVMRT_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d := defaultCacheDir(); d != "/xdg/svmrt/clc" {
		t.Errorf("default: %q", d)
	}
}
