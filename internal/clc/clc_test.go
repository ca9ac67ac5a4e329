package clc

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// toolchain returns the LLVM 15 toolchain or skips the test when it is
// missing (the only reason a test here skips).
func toolchain(t *testing.T) *Toolchain {
	t.Helper()
	tc, err := FindToolchain()
	if err != nil {
		t.Skipf("LLVM 15 toolchain missing: %v", err)
	}
	return tc
}

// noCache gives each test its own cache dir so results do not leak between
// tests (and the user's cache is not touched).
func noCache(t *testing.T) *Cache { return NewCache(t.TempDir()) }

func compile(t *testing.T, tc *Toolchain, src, build string) (*Module, error) {
	t.Helper()
	return tc.Compile(context.Background(), src, Options{Name: "prog.cl", Build: build, Cache: noCache(t)})
}

func TestMain(m *testing.M) {
	// Keep tests off the user's cache even through DefaultCache.
	if os.Getenv("SVMRT_CACHE_DIR") == "" {
		os.Setenv("SVMRT_CACHE", "off")
	}
	os.Exit(m.Run())
}

func TestMissingToolchain(t *testing.T) {
	_, err := FindToolchainIn(t.TempDir())
	if err == nil {
		t.Fatal("FindToolchainIn(empty dir) succeeded")
	}
	if !errors.Is(err, ErrNoToolchain) || !errors.Is(err, errdefs.ErrNotSupported) {
		t.Fatalf("error %v is not ErrNoToolchain and ErrNotSupported", err)
	}
	for _, want := range []string{"clang-15", "llvm-15", "scripts/setup.sh", "llvm-link-15 not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindToolchainVersion(t *testing.T) {
	tc := toolchain(t)
	if !strings.Contains(tc.Version, "clang version 15.") {
		t.Errorf("Version = %q", tc.Version)
	}
	tc2, err := FindToolchain()
	if err != nil || tc2 != tc {
		t.Errorf("second FindToolchain = %p, %v; want the cached %p", tc2, err, tc)
	}
}

func fmtG(f float64) string { return strconv.FormatFloat(float64(float32(f)), 'g', 6, 32) }

func asToolError(err error, te **ToolError) bool { return errors.As(err, te) }
