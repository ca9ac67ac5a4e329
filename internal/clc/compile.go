package clc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// FeatureMacros are the OpenCL 3.0 optional features svmrt implements, as
// clang -cl-ext entries. Everything else is switched off with "-all", so
// __opencl_c_images, __opencl_c_pipes, __opencl_c_device_enqueue and
// __opencl_c_subgroups are undefined and their types and builtins are not
// declared: code that guards on the macros takes its fallback path, code
// that does not fails to build (reported as *UnsupportedError).
var FeatureMacros = []string{
	"__opencl_c_generic_address_space",
	"__opencl_c_program_scope_global_variables",
	"__opencl_c_atomic_order_acq_rel",
	"__opencl_c_atomic_order_seq_cst",
	"__opencl_c_fp64", "cl_khr_fp64",
	"__opencl_c_int64",
	"cl_khr_int64_base_atomics", "cl_khr_int64_extended_atomics",
	"cl_khr_global_int32_base_atomics", "cl_khr_global_int32_extended_atomics",
	"cl_khr_local_int32_base_atomics", "cl_khr_local_int32_extended_atomics",
	"cl_khr_byte_addressable_store",
}

// headerOnlyFeatures are features clang-15's opencl-c-base.h defines only for
// SPIR targets, not through -cl-ext; on x86-64 they must be -D'd, or
// memory_scope_device / memory_scope_all_svm_devices are not declared.
var headerOnlyFeatures = []string{
	"__opencl_c_atomic_scope_device",
	"__opencl_c_atomic_scope_all_devices",
}

// frontEndFlags are the target and language flags every OpenCL C compile
// uses (Compile and CompileCL), without optimization level.
func frontEndFlags(std string) []string {
	f := []string{
		"-x", "cl", "-cl-std=" + std,
		"-target", TargetTriple,
		"-Xclang", "-finclude-default-header",
		// Keep OpenCL address spaces distinct in the IR (else all are 0).
		"-Xclang", "-ffake-address-space-map",
		"-Xclang", "-cl-ext=-all,+" + strings.Join(FeatureMacros, ",+"),
		"-cl-kernel-arg-info",
		// The device's OpenCL version, which clang leaves to the
		// implementation (it defines only __OPENCL_C_VERSION__): every svmrt
		// device reports OpenCL 3.0. (The CTS's kernel_preprocessor_macros.)
		"-D__OPENCL_VERSION__=300",
		// The GPU rewriter wants scalar accesses; the cpu back end vectorizes.
		"-fno-vectorize", "-fno-slp-vectorize",
		"-gline-tables-only",
	}
	if std == StdCL30 {
		for _, m := range headerOnlyFeatures {
			f = append(f, "-D"+m+"=1")
		}
	}
	return f
}

// Module is a compiled OpenCL C program.
type Module struct {
	BC      []byte       // LLVM bitcode for TargetTriple
	Kernels []KernelInfo // in definition order
	Std     string       // the -cl-std used
	Key     string       // cache key: source, options, toolchain version, FormatVersion
	Log     string       // compiler warnings (the build log of a successful build)

	tc   *Toolchain
	llMu sync.Mutex
	ll   string
	inst atomic.Uint64
}

// moduleInstances numbers Modules (Instance).
var moduleInstances atomic.Uint64

// Instance is a number that no other Module of the process has, even one
// compiled from the same source with the same options (which has the same
// Key). It tells programs apart where each must have its own state: the
// storage of its program-scope variables.
func (m *Module) Instance() uint64 {
	if v := m.inst.Load(); v != 0 {
		return v
	}
	m.inst.CompareAndSwap(0, moduleInstances.Add(1))
	return m.inst.Load()
}

// Kernel returns the kernel named name.
func (m *Module) Kernel(name string) (KernelInfo, bool) {
	for _, k := range m.Kernels {
		if k.Name == name {
			return k, true
		}
	}
	return KernelInfo{}, false
}

// LL returns the module's textual IR (llvm-dis of BC), computed once.
func (m *Module) LL(ctx context.Context) (string, error) {
	m.llMu.Lock()
	defer m.llMu.Unlock()
	if m.ll != "" {
		return m.ll, nil
	}
	if m.tc == nil {
		return "", errors.New("clc: Module has no toolchain")
	}
	ll, err := m.tc.Dis(ctx, m.BC)
	if err != nil {
		return "", err
	}
	m.ll = ll
	return ll, nil
}

// cachedModule is a Module's cache entry.
type cachedModule struct {
	BC      []byte
	Kernels []KernelInfo
	Std     string
	Log     string
}

// Compile compiles OpenCL C source to a Module. Errors: *BuildError
// (ErrBuild; ErrInvalidBuildOptions for a bad opts.Build), *UnsupportedError
// (ErrUnsupported) for images, pipes, device-side enqueue, subgroups and
// printf, *ToolError for a tool that failed in another way. Successful
// builds are cached (opts.Cache, default DefaultCache()) except when the
// options name -I directories, whose headers the key cannot cover.
func (t *Toolchain) Compile(ctx context.Context, src string, opts Options) (*Module, error) {
	name := opts.Name
	if name == "" {
		name = "program.cl"
	}
	bo, err := ParseBuildOptions(opts.Build)
	if err != nil {
		return nil, err
	}
	parts := []string{"compile", t.Version, bo.Std, fmt.Sprint(bo.OptDisable),
		strings.Join(bo.ClangArgs, "\x00"), name, src}
	// A linked file's name says nothing of what it holds: its contents
	// are part of the key.
	for _, f := range bo.LinkBitcode {
		bc, err := os.ReadFile(f)
		if err != nil {
			return nil, invalidOption("-svmrt-link-bitcode="+f, err.Error())
		}
		sum := sha256.Sum256(bc)
		parts = append(parts, hex.EncodeToString(sum[:]))
	}
	key := CacheKey(parts...)
	cache := opts.Cache
	if cache == nil {
		cache = DefaultCache()
	}
	if len(bo.IncludeDirs) > 0 {
		cache = nil
	}
	var fresh *Module
	data, err := cache.Get(key, func() ([]byte, error) {
		m, err := t.compile(ctx, src, name, bo)
		if err != nil {
			return nil, err
		}
		fresh = m
		return json.Marshal(cachedModule{BC: m.BC, Kernels: m.Kernels, Std: m.Std, Log: m.Log})
	})
	if err != nil {
		return nil, err
	}
	if fresh != nil {
		fresh.Key = key
		return fresh, nil
	}
	var cm cachedModule
	if err := json.Unmarshal(data, &cm); err != nil {
		return nil, fmt.Errorf("clc: cache entry %s: %w", key, err)
	}
	return &Module{BC: cm.BC, Kernels: cm.Kernels, Std: cm.Std, Log: cm.Log, Key: key, tc: t}, nil
}

func (t *Toolchain) compile(ctx context.Context, src, name string, bo BuildOptions) (*Module, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	rel := filepath.Clean(name)
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(rel)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(src), 0o644); err != nil {
		return nil, fmt.Errorf("clc: write source: %w", err)
	}
	args := frontEndFlags(bo.Std)
	if bo.OptDisable {
		args = append(args, "-O0", "-cl-opt-disable")
	} else {
		args = append(args, "-O2")
	}
	args = append(args, bo.ClangArgs...)
	// Debug info names the file relative to the temp dir, so the bitcode
	// does not depend on where it was built.
	args = append(args, "-fdebug-prefix-map="+dir+"=.", "-emit-llvm", "-c", "-o", "out.bc", rel)
	_, log, err := t.runLog(ctx, dir, t.ClangPath, args...)
	if err != nil {
		// Only clang exiting with a status is a build failure; a clang that
		// could not be started or was cancelled is the tool's error.
		var te *ToolError
		var exit *exec.ExitError
		if errors.As(err, &te) && errors.As(te.Err, &exit) && ctx.Err() == nil {
			be := newBuildError(te.Stderr)
			if ue := unsupportedFromDiags(be); ue != nil {
				return nil, ue
			}
			return nil, be
		}
		return nil, err
	}
	bc, err := os.ReadFile(filepath.Join(dir, "out.bc"))
	if err != nil {
		return nil, fmt.Errorf("clc: read bitcode: %w", err)
	}
	ll, err := t.Dis(ctx, bc)
	if err != nil {
		return nil, err
	}
	kernels, err := Kernels(ll)
	if err != nil {
		return nil, err
	}
	if ue := ScanUnsupported(ll, kernels); ue != nil {
		return nil, ue
	}
	return &Module{BC: bc, Kernels: kernels, Std: bo.Std, Log: log, tc: t, ll: ll}, nil
}
