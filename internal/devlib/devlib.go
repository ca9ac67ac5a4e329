// Package devlib is svmrt's OpenCL C device library: definitions, written
// in OpenCL C, of the OpenCL C built-in functions that clang-15's default
// header (opencl-c.h) declares but that nothing defines on the x86-64 host
// target.
//
// # What it is
//
// The header declares every builtin as an overloadable function, so a kernel
// calls Itanium-mangled symbols such as _Z13get_global_idj, _Z4sqrtf or
// _Z10atomic_addPU8CLglobalVii. The library defines those symbols with
// __attribute__((overloadable)) and the header's exact parameter types, so the
// mangled names match. It is written from the OpenCL C 3.0 specification's
// list of built-in functions; it copies no other implementation.
//
// Work-item queries, barriers and fences call the svmrt C runtime's ABI
// (__svm_global_id, __svm_barrier, __svm_fence, ...; plain C names, declared
// in the source). Math is built from clang builtins, which become LLVM
// intrinsics or libm calls (the module is linked with -lm; exp10 and
// lgamma_r are bound to libm through asm labels).
//
// # How it is compiled and linked
//
// Source(std) is the OpenCL C text, Flags(std) the clang-15 arguments that
// compile it to LLVM bitcode for that language version (the same target and
// address-space map as kernels). The device runtime compiles it once per std,
// caches the bitcode and llvm-links it with every kernel of that std before
// optimisation, so the small definitions are inlined into the kernel. The
// definitions are external (not static): link with llvm-link --only-needed
// (or internalize after linking) to keep only what a kernel uses.
//
// For OpenCL C 3.0 the header hides the non-explicit C11 atomics
// (atomic_load, atomic_fetch_add, ...) and the explicit ones without a scope
// unless the feature macros __opencl_c_atomic_scope_device and
// __opencl_c_atomic_scope_all_devices are defined; the x86-64 target does not
// define them. The library defines those functions anyway, and KernelDefines
// returns the -D flags a kernel compile can add to make the header declare
// them (svmrt supports both scopes: memory is coherent).
//
// # Atomics
//
// Every atomic builtin is exactly one clang atomic builtin (__atomic_*,
// __opencl_atomic_*), so it compiles to one LLVM atomicrmw, cmpxchg, atomic
// load or atomic store on the caller's pointer. A later svmrt pass rewrites
// those instructions on global and generic pointers into MMU operations
// (fine-grained system SVM); an atomic implemented with a lock, a loop over
// plain accesses or a function call would escape that pass and break
// coherence. OpenCL 1.x atomics use relaxed ordering as the 2.0 spec
// prescribes; memory_order and memory_scope arguments (including
// memory_scope_all_svm_devices) are passed through to the instructions.
//
// # Async copies
//
// async_work_group_copy and async_work_group_strided_copy must be called by
// every work-item of the group with the same arguments; each work-item copies
// elements local_linear_id, local_linear_id+local_size, ... synchronously and
// returns the event it was given. wait_group_events is a work-group barrier,
// after which the whole copy is visible to the group. prefetch is a no-op.
//
// # Not provided
//
// printf, image and sampler functions, pipes, enqueue_kernel and the device
// side queue and events (create_user_event, ...), sub-group and work-group
// collective functions, vendor extensions (intel_*, amd_*, arm_*), and the
// cl_khr_fp16 overloads that compute on half (math, relational, convert_half,
// conversions from half) stay undefined; half storage is supported
// (vloadN/vstoreN of half, vload_half/vstore_half and the vloada/vstorea
// forms with all rounding modes);
// a kernel that uses them fails to link and svmrt reports the build as
// unsupported. The test TestUndefinedBuiltins lists what remains undefined.
package devlib

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed cl/*.cl
var clFiles embed.FS

// Stds are the OpenCL C versions the library supports (the -cl-std values).
var Stds = []string{"CL1.2", "CL2.0", "CL3.0"}

var source = func() string {
	names, err := fs.Glob(clFiles, "cl/*.cl")
	if err != nil {
		panic(err)
	}
	sort.Strings(names) // files are numbered in dependency order
	var b strings.Builder
	for _, n := range names {
		data, err := clFiles.ReadFile(n)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "#line 1 %q\n", n)
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String()
}()

func checkStd(std string) {
	for _, s := range Stds {
		if s == std {
			return
		}
	}
	panic("devlib: unsupported OpenCL C version " + std)
}

// Source returns the library's OpenCL C source for the given -cl-std value
// ("CL1.2", "CL2.0" or "CL3.0"). The text is the same for every version; the
// preprocessor selects the overloads the header declares under each one
// (named address-space overloads in 1.2, generic pointers in 2.0 and 3.0,
// C11 atomics from 2.0, named-address-space atomics in 3.0). It panics for
// any other std.
func Source(std string) string {
	checkStd(std)
	return source
}

// Flags returns the clang-15 arguments (without the input file and the
// output) that compile Source(std) to LLVM bitcode: append "-o", out, and
// the path of a file holding the source (or "-" with the source on stdin).
func Flags(std string) []string {
	checkStd(std)
	f := []string{
		"-x", "cl", "-cl-std=" + std,
		"-Xclang", "-finclude-default-header",
		"-target", "x86_64-unknown-linux-gnu",
		"-Xclang", "-ffake-address-space-map",
		"-O2", "-fno-vectorize", "-fno-slp-vectorize", "-Wno-psabi",
		"-gline-tables-only",
		"-emit-llvm", "-c",
	}
	return append(f, KernelDefines(std)...)
}

// KernelDefines returns the -D flags that make clang-15's header declare
// the builtins svmrt supports but the x86-64 target leaves undeclared under
// std (for CL3.0: the C11 atomics without an explicit scope). Kernels may be
// compiled with them; the library is compiled with them (Flags).
func KernelDefines(std string) []string {
	checkStd(std)
	if std == "CL3.0" {
		return []string{
			"-D__opencl_c_atomic_scope_device=1",
			"-D__opencl_c_atomic_scope_all_devices=1",
		}
	}
	return nil
}
