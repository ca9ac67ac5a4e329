// Package clc is svmrt's OpenCL C compiler driver. It turns OpenCL C source
// into LLVM bitcode plus a description of every kernel's signature, and it
// offers the back-end steps (link, opt, llc, shared object) and the argument
// trampolines the device runtime (internal/devrt) needs to load that code.
//
// # Pipeline
//
//	source ──Compile──▶ Module{BC, Kernels}      (clang-15 -x cl, x86-64, -O2, no vectorization)
//	Module.BC + devlib ──Link──▶ Opt ──▶ Codegen ──▶ SharedObject (.so, dlopen'ed by devrt)
//	KernelInfo ──Trampolines──▶ IR text ──Asm──▶ linked in next to the kernels
//
// The simulated GPU inserts an IR rewriter (internal/irx) between Link and
// Codegen; the cpu device runs the bitcode as is.
//
// # Invariants
//
//   - Every kernel is compiled for x86_64-unknown-linux-gnu with clang's fake
//     address-space map, so address spaces survive into the IR: 0 private,
//     1 global, 2 constant, 3 local, 4 generic (see AddrSpace). Without that map
//     clang folds them all into 0 on x86-64 and the GPU rewriter could not tell
//     global accesses from private ones.
//   - The front end never vectorizes (-fno-vectorize -fno-slp-vectorize): the
//     GPU rewriter wants one global access per source access, and the cpu
//     device vectorizes later with the real target CPU.
//   - Bitcode carries line tables (-gline-tables-only), so later stages can
//     name the source line of an unsupported call or a faulting access.
//   - The OpenCL 3.0 optional features advertised through __opencl_c_* macros
//     are exactly what svmrt implements (FeatureMacros): generic address space,
//     program-scope globals, seq_cst/acq_rel orders, device and all-devices
//     scopes, fp64, int64 (and int64 atomics). Images, pipes, device-side
//     enqueue and subgroups are off; code that needs them fails in Compile with
//     an *UnsupportedError (errors.Is ErrUnsupported, which is
//     errdefs.ErrNotSupported), either because clang rejects it or because the
//     IR calls such a builtin (older -cl-std versions make them core).
//   - Compile results are cached on disk (Cache) keyed by source, options,
//     toolchain version and FormatVersion; a cached Module is byte-identical
//     to a fresh one.
//
// # Kernel arguments
//
// KernelInfo lists each parameter as the kernel's metadata and LLVM signature
// give it. For callers (the runtime's residency and coherence logic): a
// __global or __constant pointer whose ParamInfo.Const is true is read-only
// for the kernel; any other __global (or generic) pointer may be written. A
// __local pointer's value is the work-group's local buffer the runtime
// allocates; the caller gives only its size.
package clc
