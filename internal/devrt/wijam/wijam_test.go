package wijam

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/errdefs"
)

// TestPluginBuildsAndLoads: the plugin builds with this machine's
// toolchain, is cached (a second call gives the same file without a
// build), and opt accepts its pass.
func TestPluginBuildsAndLoads(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cache := clc.NewCache(filepath.Join(dir, "cache"))
	p, err := Plugin(context.Background(), tc, cache, filepath.Join(dir, "so"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Plugin(context.Background(), tc, cache, filepath.Join(dir, "so"))
	if err != nil || again != p {
		t.Fatalf("second call: %q, %v; want %q", again, err, p)
	}
	// A module with no marked loop: the pass runs and changes nothing.
	bc, err := tc.Asm(context.Background(), "define i32 @f(i32 %x) {\n  ret i32 %x\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Opt(context.Background(), bc, "-load-pass-plugin="+p, "-passes=function("+PassName+"<8>)"); err != nil {
		t.Fatalf("opt with the plugin: %v", err)
	}
}

// TestPluginWithoutHeaders: no llvm-config (here: $SVMRT_LLVM_CONFIG
// names a file that does not exist) is ErrUnavailable (and
// errdefs.ErrNotSupported), naming the package.
func TestPluginWithoutHeaders(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("SVMRT_LLVM_CONFIG", filepath.Join(dir, "llvm-config"))
	_, err = Plugin(context.Background(), tc, clc.NewCache(""), dir)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errdefs.ErrNotSupported) || !strings.Contains(err.Error(), "llvm-15-dev") {
		t.Fatalf("err = %v; want ErrUnavailable naming llvm-15-dev", err)
	}
}

// TestPluginConcurrentCallers: callers racing for a plugin that is not
// built yet all get the same file, and it loads.
func TestPluginConcurrentCallers(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cache := clc.NewCache(filepath.Join(dir, "cache"))
	const callers = 6
	paths, errs := make([]string, callers), make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { paths[i], errs[i] = Plugin(context.Background(), tc, cache, filepath.Join(dir, "so")) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("caller %d: %q, %v; caller 0: %q", i, paths[i], errs[i], paths[0])
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "so"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("so dir holds %d entries (%v), want the one plugin", len(entries), err)
	}
}
