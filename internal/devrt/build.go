package devrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/devlib"
	"github.com/svmrt/svmrt/internal/devrt/ksrc"
	"github.com/svmrt/svmrt/internal/devrt/wijam"
	"github.com/svmrt/svmrt/internal/irx"
)

// Target is what a kernel module is built for.
type Target int

const (
	// Native: plain loads and stores (the cpu device).
	Native Target = iota
	// Instrumented: every global, constant and generic access goes through the
	// simulated MMU (the simulated GPU).
	Instrumented
)

func (t Target) String() string {
	if t == Instrumented {
		return "mmu"
	}
	return "native"
}

// buildVersion changes whenever the pipeline below changes what it makes.
const buildVersion = "devrt-build-24"

// irxRevision changes whenever internal/irx changes what it emits.
const irxRevision = "irx-1"

type buildKey struct {
	key    string
	target Target
}

var (
	buildMu sync.Mutex
	built   = map[buildKey]*builtModule{}
)

type builtModule struct {
	once sync.Once
	m    *Module
	err  error
}

// Build compiles the program module m for target and loads it. Builds are
// cached on disk (the object code, keyed by the program, the target, the
// builtins library, the kernel-side runtime and the toolchain) and in the
// process (one load per source and target; one per program and target for
// a program with __global variables, which must not share their storage:
// globalvars.go).
//
// The pipeline:
//
//	program ─┬─ builtins library (OpenCL C) ─ trampolines ─ group loops | item loops ─▶ llvm-link ─▶ opt -O2
//	         │   native: + kernel-side runtime ─▶ opt -O2 ─▶ work-item jam ─▶ opt -O2 ─▶ llc ─▶ .so
//	         └─ mmu:    ─▶ irx.Instrument ─▶ + kernel-side runtime (MMU fast path) ─▶ opt -O2 ─▶ llc ─▶ .so
//
// The work-item jam (package wijam, an opt plugin built on first use)
// interleaves a group loop's neighbouring work-items so that SLP packs
// them into vector instructions; the native opt runs before it leave SLP
// off. Without llvm-15-dev's headers native modules are built without it
// (JamUnavailable says why; Entry.Jam reports per kernel).
//
// The builtins are linked before the rewrite so their own memory accesses
// (vload, atomics, async copies) are instrumented too; the runtime's fast
// path is linked after it and inlined by the second opt. After each link
// every function loses its target attributes and kernels their spir_kernel
// convention (inlinable), so everything inlines into the trampolines and
// loops. SVMRT_DEVRT_DUMP=dir writes each freshly built module's final IR
// to dir/<target>.ll (for reading what a kernel became).
//
// Concurrent callers share one build, run under the context of the caller
// that started it. When that context ends the build fails for everyone
// waiting on it; a waiter whose own context is still live starts a build
// of its own instead of reporting another caller's cancellation (seen in
// the conformance suite: a test that timed out while its kernel compiled
// failed the next test, which compiled the same kernel, with "context
// deadline exceeded").
func Build(ctx context.Context, tc *clc.Toolchain, m *clc.Module, target Target) (*Module, error) {
	k := buildKey{m.Key, target}
	for {
		buildMu.Lock()
		b := built[k]
		if b == nil {
			b = &builtModule{}
			built[k] = b
		}
		buildMu.Unlock()
		b.once.Do(func() { b.m, b.err = build(ctx, tc, m, target) })
		if b.err == nil {
			return programInstance(m, target, b.m)
		}
		// A failed build (a cancelled context, say) may succeed next time.
		buildMu.Lock()
		if built[k] == b {
			delete(built, k)
		}
		buildMu.Unlock()
		cancelled := errors.Is(b.err, context.Canceled) || errors.Is(b.err, context.DeadlineExceeded)
		if !cancelled || ctx.Err() != nil {
			return nil, b.err
		}
	}
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

func build(ctx context.Context, tc *clc.Toolchain, m *clc.Module, target Target) (*Module, error) {
	lib := devlib.Source(m.Std)
	rt := ksrc.Runtime()
	cache := clc.DefaultCache()
	cpu := hostCPUID(tc)
	dir := soDir(cache)
	// Native modules go through the work-item jam when it can be built
	// here; the key says whether it did, and which jam.
	jam, plugin := "no-jam", ""
	if target == Native {
		if p, err := jamPlugin(ctx, tc, cache, dir); err == nil {
			jam, plugin = wijam.Version(), p
		}
	}
	key := clc.CacheKey(buildVersion, m.Key, target.String(), hashOf(lib), hashOf(rt), irxRevision, tc.Version, cpu, jam)
	obj, err := cache.Get(key, func() ([]byte, error) { return compileModule(ctx, tc, m, target, lib, rt, plugin) })
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devrt: %w", err)
	}
	path, err := tc.SharedObject(ctx, dir, [][]byte{obj})
	if err != nil {
		return nil, err
	}
	return Load(path, target == Instrumented)
}

// soDir is where loaded shared objects live: beside the cache, or in a
// per-user temporary directory when the cache is off.
func soDir(c *clc.Cache) string {
	if d := c.Dir(); d != "" {
		return filepath.Join(filepath.Dir(d), "so")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("svmrt-so-%d", os.Getuid()))
}

// libraryBitcode is the builtins library compiled for OpenCL C version
// std: the same for every program, so it is cached on its own (keyed by
// its source, the version and the toolchain) and a program's first build
// pays for the program, not for the library (clang over the whole library
// takes seconds).
func libraryBitcode(ctx context.Context, tc *clc.Toolchain, lib, std string) ([]byte, error) {
	flags := []string{"-cl-std=" + std, "-Wno-psabi", "-Xclang", "-cl-ext=+cl_khr_fp16"}
	key := clc.CacheKey("devrt-library", hashOf(lib), strings.Join(flags, " "), tc.Version)
	return clc.DefaultCache().Get(key, func() ([]byte, error) { return tc.CompileCL(ctx, lib, flags...) })
}

// compileModule runs the pipeline and returns the object code. plugin is
// the work-item jam's plugin for a native module ("" to build without it).
func compileModule(ctx context.Context, tc *clc.Toolchain, m *clc.Module, target Target, lib, rt, plugin string) ([]byte, error) {
	// The library also defines the half overloads (async copies, vload_half
	// conversions), so it needs cl_khr_fp16 on; kernels are compiled without
	// it and can reach only the overloads that take half pointers as storage.
	libBC, err := libraryBitcode(ctx, tc, lib, m.Std)
	if err != nil {
		return nil, fmt.Errorf("devrt: builtins library: %w", err)
	}
	tr, err := clc.Trampolines(m.Kernels...)
	if err != nil {
		return nil, err
	}
	trBC, err := tc.Asm(ctx, tr)
	if err != nil {
		return nil, fmt.Errorf("devrt: trampolines: %w", err)
	}
	parts := [][]byte{m.BC, trBC}
	// Natively group loops, on the simulated MMU item loops (loop.go).
	loopsFn, what := clc.GroupLoops, "group loops"
	if target == Instrumented {
		loopsFn, what = clc.ItemLoops, "item loops"
	}
	loops, err := loopsFn(m.Kernels...)
	if err != nil {
		return nil, err
	}
	loopBC, err := tc.Asm(ctx, loops)
	if err != nil {
		return nil, fmt.Errorf("devrt: %s: %w", what, err)
	}
	parts = append(parts, loopBC)
	linked, err := tc.Link(ctx, parts...)
	if err != nil {
		return nil, err
	}
	// The builtins library: only what the program uses (the whole of it
	// was most of a small kernel's build: linking it and then dropping the
	// rest took 3.4 s of 5.2 on this machine).
	if linked, err = tc.LinkNeeded(ctx, linked, libBC); err != nil {
		return nil, err
	}
	// Drop the library's unused definitions first, so that the text round
	// trip inlinable makes is over the program, not the whole library (it
	// was most of a fresh build's time: 54 s against 8 s for two builds of a
	// one-line kernel on a loaded 2-core machine).
	keep := exported(m, m.Kernels)
	linked, err = tc.Opt(ctx, linked, "-passes=internalize,globaldce", "-internalize-public-api-list="+keep)
	if err != nil {
		return nil, err
	}
	// Let the kernels inline into the trampolines and loops (else the
	// kernel stays a call per work-item), which -O2 then does. Kernels run
	// in loops over work-items: readnone goes (see inlinable).
	if linked, err = inlinable(ctx, tc, linked, true); err != nil {
		return nil, err
	}
	first := optLevel(target)
	if plugin != "" {
		first = append(first, "-vectorize-slp=false") // packing waits for the jam (below)
	}
	linked, err = tc.Opt(ctx, linked, first...)
	if err != nil {
		return nil, err
	}
	ll, err := tc.Dis(ctx, linked)
	if err != nil {
		return nil, err
	}
	if undef := clc.UndefinedFunctions(ll, runtimeSymbol); len(undef) > 0 {
		return nil, clc.NotImplemented(undef[0])
	}
	// Static __local variables: per-group storage (staticlocal.go).
	if rewritten, size, err := staticLocals(ll); err != nil {
		return nil, err
	} else if size > 0 {
		ll = rewritten
		if linked, err = tc.Asm(ctx, ll); err != nil {
			return nil, fmt.Errorf("devrt: static __local variables: %w", err)
		}
	}
	// __global variables: per-program storage (globalvars.go).
	if withBytes, has, err := withGlobalBytes(ll); err != nil {
		return nil, err
	} else if has {
		ll = withBytes
		if linked, err = tc.Asm(ctx, ll); err != nil {
			return nil, fmt.Errorf("devrt: __global variables: %w", err)
		}
	}
	rtFlags := []string{"-fPIC", "-ffreestanding"}
	// Keep the loops of the kernels that reach no barrier only.
	var free []clc.KernelInfo
	for _, name := range barrierFree(ll, m.Kernels) {
		k, _ := m.Kernel(name)
		free = append(free, k)
	}
	keep = exported(m, free)
	if target == Instrumented {
		inst, _, err := irx.Instrument(ll)
		if err != nil {
			return nil, err
		}
		if writesLocal(ll) {
			inst += "\n@" + noRestartSym + " = constant i32 1\n"
		}
		if linked, err = tc.Asm(ctx, inst); err != nil {
			return nil, fmt.Errorf("devrt: instrumented module: %w", err)
		}
		rtFlags = append(rtFlags, "-DSVMK_MMU")
	}
	rtBC, err := tc.CompileC(ctx, rt, rtFlags...)
	if err != nil {
		return nil, fmt.Errorf("devrt: kernel-side runtime: %w", err)
	}
	final, err := tc.Link(ctx, linked, rtBC)
	if err != nil {
		return nil, err
	}
	// The runtime's C carries target attributes too; its fast paths must
	// inline into the kernels.
	if final, err = inlinable(ctx, tc, final, false); err != nil {
		return nil, err
	}
	final, err = tc.Opt(ctx, final, "-passes=internalize,globaldce", "-internalize-public-api-list="+keep)
	if err != nil {
		return nil, err
	}
	// Both targets are compiled for this CPU (hostcpu.go).
	const cpu = "native"
	optArgs := append(optLevel(target), "-mcpu="+cpu)
	if plugin != "" {
		// The jam between two -O2 runs: the first inlines the kernels into
		// their group loops and simplifies them, without SLP (pairs it
		// made of one work-item's accesses would keep the lanes' copies
		// from packing); the second packs the lanes' copies and cleans up
		// (wijam's doc).
		if final, err = tc.Opt(ctx, final, append(optArgs, "-vectorize-slp=false")...); err != nil {
			return nil, err
		}
		optArgs = append(replaceO2(optArgs), "-load-pass-plugin="+plugin,
			"-passes=function("+wijam.PassName+"<"+fmt.Sprint(wijam.Lanes)+">),default<O2>")
	}
	if final, err = tc.Opt(ctx, final, optArgs...); err != nil {
		return nil, err
	}
	if d := os.Getenv("SVMRT_DEVRT_DUMP"); d != "" {
		if fl, err := tc.Dis(ctx, final); err == nil {
			os.WriteFile(filepath.Join(d, target.String()+".ll"), []byte(fl), 0o644)
		}
	}
	return tc.Codegen(ctx, final, cpu)
}

// targetAttrRE matches the per-function target attributes clang attaches.
var targetAttrRE = regexp.MustCompile(`"(target-cpu|target-features|tune-cpu)"="[^"]*"`)

// inlinable makes bc's kernels inlinable into the trampolines and loops,
// which the IR generator writes without target attributes: it drops every
// function's target-cpu/target-features/tune-cpu (LLVM inlines a callee
// only into a caller with a superset of its features; llc's -mcpu decides
// for the whole module instead), and turns spir_kernel functions and calls
// into the default calling convention (the same ABI on x86-64; kernels are
// only called from the trampolines and loops).
//
// With weakenReadnone, readnone becomes readonly in every attribute group.
// A group or item loop runs many work-items in one function, so what the front end
// proved of a single work-item no longer holds there: a helper calling
// get_global_id was inferred readnone (the builtins are declared const),
// and the loop hoisted its call out, giving every item the first column's
// id. readonly is true (the builtins read the item the loop rewrites for
// each one).
func inlinable(ctx context.Context, tc *clc.Toolchain, bc []byte, weakenReadnone bool) ([]byte, error) {
	ll, err := tc.Dis(ctx, bc)
	if err != nil {
		return nil, err
	}
	ll = strings.ReplaceAll(ll, " spir_kernel ", " ")
	ll = targetAttrRE.ReplaceAllString(ll, "")
	if weakenReadnone {
		ll = attrGroupRE.ReplaceAllStringFunc(ll, func(g string) string {
			return strings.ReplaceAll(g, " readnone", " readonly")
		})
	}
	out, err := tc.Asm(ctx, ll)
	if err != nil {
		return nil, fmt.Errorf("devrt: calling convention: %w", err)
	}
	return out, nil
}

// exported lists the symbols a module keeps: the trampolines, the loops
// (group or item loops, whichever the module has) of the kernels in loops
// and the runtime's connection points.
func exported(m *clc.Module, loops []clc.KernelInfo) string {
	names := []string{"__svm_rt", "__svm_abi", noRestartSym, StaticLocalSym, GlobalBytesSym}
	for _, k := range m.Kernels {
		names = append(names, clc.TrampolineName(k.Name))
	}
	for _, k := range loops {
		names = append(names, clc.LoopName(k.Name), clc.ItemLoopName(k.Name))
	}
	return strings.Join(names, ",")
}

// runtimeSymbol reports whether an undefined function is provided at link
// time rather than missing: the kernel-side runtime's __svm_* functions and
// C library functions (libm's sinf, memcpy) that LLVM lowers builtins to.
// Missing OpenCL builtins are the Itanium-mangled names (_Z...).
func runtimeSymbol(name string) bool { return !strings.HasPrefix(name, "_Z") }

// noRestartSym is defined in an instrumented module whose kernels write
// __local memory directly (writesLocal): such stores are plain instructions
// the scheduler does not see, so its work-items must never give a run up
// and start again (sched.c, restartable).
const noRestartSym = "__svm_no_restart"

// localWriteRE matches an instruction that may write __local memory
// (address space 3) directly: a store, atomic or memory intrinsic with a
// local pointer. Conservative: a store of a local pointer value matches too.
var localWriteRE = regexp.MustCompile(`(?m)^\s*(%\S+ = )?(store|atomicrmw|cmpxchg|(tail |musttail |notail )?call\b.*@llvm\.mem(set|cpy|move)\.p3)\b.*addrspace\(3\)`)

// writesLocal reports whether the module's IR may write __local memory
// other than through generic pointers (which go through the MMU and count).
func writesLocal(ll string) bool { return localWriteRE.MatchString(ll) }

// attrGroupRE matches an attribute group definition of textual IR.
var attrGroupRE = regexp.MustCompile(`(?m)^attributes #\d+ = \{.*\}$`)

// replaceO2 drops "-O2" from opt flags that a -passes pipeline replaces.
func replaceO2(flags []string) []string {
	var out []string
	for _, f := range flags {
		if f != "-O2" {
			out = append(out, f)
		}
	}
	return out
}

var (
	jamMu  sync.Mutex
	jamErr error
)

// jamPlugin is wijam.Plugin; its outcome is kept for JamUnavailable.
func jamPlugin(ctx context.Context, tc *clc.Toolchain, cache *clc.Cache, dir string) (string, error) {
	p, err := wijam.Plugin(ctx, tc, cache, dir)
	if ctx.Err() == nil {
		jamMu.Lock()
		jamErr = err
		jamMu.Unlock()
	}
	return p, err
}

// JamUnavailable is why the process's latest native build went without
// the work-item jam (wijam.ErrUnavailable, naming what is missing), or nil
// if it had the jam (or there was none yet).
func JamUnavailable() error {
	jamMu.Lock()
	defer jamMu.Unlock()
	return jamErr
}

// optLevel is opt's optimisation flags for target. Natively, loops whose
// trip count is known only at run time are not unrolled: a work-item's loop
// over a column (mulmat's b[k*m + col]) unrolled 16 times gives each load
// instruction a stride of 16 rows, past what the CPU's per-instruction
// stride prefetcher follows, and ran 0.85× as fast as the plain loop
// (m = 512, one thread; PoCL, which does not unroll it, was 1.2× ours).
// Loops the vectorizer takes are still interleaved by it.
func optLevel(target Target) []string {
	if target == Native {
		return []string{"-O2", "-unroll-runtime=false"}
	}
	return []string{"-O2"}
}
