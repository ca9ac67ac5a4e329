// Package wijam builds the work-item jam: an opt-15 pass plugin (its source
// is pass.cpp.in, compiled here with clang-15 against llvm-15-dev's headers)
// that the cpu device's build runs on every group loop.
//
// # Why
//
// A work-group of a kernel without barriers runs on the cpu as one loop
// over its work-items (devrt's group loops). A work-item that has a loop of
// its own (mulmat's k loop: sum += a[row*m + k] * b[k*m + col]) is a serial
// chain of adds per work-item, and every step of b's column walk touches a
// new cache line and, for large m, a new page; the optimizer cannot
// interleave neighbouring work-items because it cannot know they are
// independent (the kernel's pointers may alias, and the bounds guard
// if (col >= m) return makes the work-item loop's body conditional:
// LLVM 15's unroll-and-jam and outer-loop vectorizer both refuse it).
// OpenCL C says they are: barrier-free work-items of a group run
// concurrently, so any interleaving that keeps each one's own order is an
// execution the program allows.
//
// # What the pass does
//
// In front of the marked loop (clc.WorkItemLoopMarker) it puts a copy that
// runs Lanes consecutive work-items per iteration, each instruction once if
// its value is the same for all lanes and once per lane otherwise. The
// lanes' copies of a step are isomorphic, so the SLP vectorizer of the
// following -O2 packs them: mulmat's k loop becomes one vector load of
// b[k*m + col .. col+7], a broadcast of a[row*m + k], a vector multiply and
// a vector add per k. Each lane's own operations keep their order, and no
// floating-point operation is reassociated: results are bit-identical to
// the scalar loop's.
//
// The scalar loop stays and runs what the copy does not: the last
// width % Lanes work-items of a row, and the rest of a row from a chunk
// whose lanes would branch differently (a guard on the work-item's id is
// evaluated for every lane first). A loop the pass cannot jam safely (a
// branch that depends on the work-item through memory or an inner loop,
// atomics, fences, private memory, stores to an address shared by all
// work-items, calls that may touch memory) is left as it is, and the
// module records why.
//
// The group loop assumes global ids in dimension 0 below
// clc.GroupLoopIDLimit, so that int col = get_global_id(0) is the id itself
// and consecutive lanes' addresses differ by a constant SLP can see; devrt
// runs launches that reach the limit item by item.
package wijam

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/errdefs"
)

//go:embed pass.cpp.in
var source string

// PassName is the plugin's pass in an opt -passes pipeline (a function
// pass): PassName runs the jam with Lanes lanes.
const PassName = "svmrt-wijam"

// Lanes is the number of work-items the jam interleaves: eight floats or
// ints are one AVX2 register, which the SLP vectorizer fills.
const Lanes = 8

// ErrUnavailable: the plugin cannot be built here (llvm-15-dev's headers
// are missing, or the build failed). It wraps errdefs.ErrNotSupported; the
// cpu device then builds kernels without the jam (same results, slower).
var ErrUnavailable = fmt.Errorf("wijam: work-item jam unavailable: %w", errdefs.ErrNotSupported)

// Version is part of the cache key of every module the plugin optimised:
// it changes with the pass's source.
func Version() string {
	s := sha256.Sum256([]byte(source))
	return "wijam-" + hex.EncodeToString(s[:8])
}

var (
	mu    sync.Mutex
	built = map[string]string{} // toolchain and directory → the plugin's path
)

// Plugin returns the path of the plugin built for tc, building it into dir
// the first time (the bytes go through cache, keyed by the pass's source,
// the toolchain and the headers' LLVM version; the file is written under a
// temporary name and renamed, so concurrent processes never load half a
// file).
func Plugin(ctx context.Context, tc *clc.Toolchain, cache *clc.Cache, dir string) (string, error) {
	// Once found, a plugin serves the process: every native build asks.
	memo := strings.Join([]string{tc.ClangPath, tc.OptPath, tc.Version, dir}, "\x00")
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[memo]; ok {
		return p, nil
	}
	cfg, err := llvmConfig(tc)
	if err != nil {
		return "", err
	}
	flags, err := exec.CommandContext(ctx, cfg, "--cxxflags").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s --cxxflags: %v", ErrUnavailable, cfg, err)
	}
	cxxflags := strings.Fields(string(flags))
	key := clc.CacheKey("wijam-plugin", Version(), tc.Version, strings.Join(cxxflags, " "))
	so, err := cache.Get(key, func() ([]byte, error) { return compile(ctx, tc, cxxflags) })
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wijam: %w", err)
	}
	path := filepath.Join(dir, "wijam-"+key+".so")
	if _, err := os.Stat(path); err != nil {
		tmp, err := os.CreateTemp(dir, "wijam-*.tmp")
		if err != nil {
			return "", fmt.Errorf("wijam: %w", err)
		}
		_, werr := tmp.Write(so)
		cerr := tmp.Close()
		if werr != nil || cerr != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("wijam: write plugin: %w", errors.Join(werr, cerr))
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("wijam: %w", err)
		}
	}
	built[memo] = path
	return path, nil
}

// llvmConfig finds llvm-config for tc's LLVM: $SVMRT_LLVM_CONFIG if set
// (only there), else beside opt (Debian's opt-15 links to
// /usr/lib/llvm-15/bin/opt), else llvm-config-15 on $PATH. Its presence is
// not enough: the headers are llvm-15-dev's.
func llvmConfig(tc *clc.Toolchain) (string, error) {
	var candidates []string
	if p := os.Getenv("SVMRT_LLVM_CONFIG"); p != "" {
		candidates = append(candidates, p)
	} else {
		if opt, err := filepath.EvalSymlinks(tc.OptPath); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(opt), "llvm-config"))
		}
		if p, err := exec.LookPath("llvm-config-15"); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		out, err := exec.Command(c, "--includedir").Output()
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "llvm", "Passes", "PassPlugin.h")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: LLVM 15's C++ headers not found (install the Debian package llvm-15-dev; scripts/setup.sh does)", ErrUnavailable)
}

// compile builds the plugin with clang-15 as a C++ compiler. The plugin is
// not linked with libLLVM: opt has it loaded already.
func compile(ctx context.Context, tc *clc.Toolchain, cxxflags []string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "svmrt-wijam-")
	if err != nil {
		return nil, fmt.Errorf("wijam: %w", err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "pass.cpp")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		return nil, fmt.Errorf("wijam: %w", err)
	}
	out := filepath.Join(dir, "wijam.so")
	args := append([]string{"-x", "c++", "-shared", "-fPIC", "-O2", "-w"}, cxxflags...)
	args = append(args, "-o", out, src)
	cmd := exec.CommandContext(ctx, tc.ClangPath, args...)
	if log, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: building the plugin: %v\n%s", ErrUnavailable, err, log)
	}
	return os.ReadFile(out)
}
