// Package kerneltest checks that a kernel computes the same thing on every
// device and along every execution path: its OpenCL C source compiled for
// the cpu device (native code), for the simulated GPU (instrumented code)
// and built by an OpenCL implementation (PoCL here), its Go Body, and a
// plain-Go reference when the case has one. Outputs are compared byte for
// byte — floats by their bits, so -0 and +0 differ, and so do two NaNs with
// different payloads — and the first difference is reported with both
// values and the names of the two runs.
//
// # A case
//
// A [Case] names a kernel, its NDRange and a function that makes the
// launch's arguments afresh:
//
//	c := kerneltest.Case{
//		Kernel: scale,                    // a *kernels.Kernel with Source and Body
//		Range:  kernels.Range1D(1024, 64),
//		Inputs: func() []any {            // new memory, same contents, every call
//			x := make([]float32, 1024)
//			for i := range x {
//				x[i] = float32(i) / 3
//			}
//			return []any{x, float32(1.5), int32(len(x))}
//		},
//	}
//	kerneltest.T(t, c) // in a test: fails on any difference
//
// Every run gets its own arguments from Inputs, so runs cannot see each
// other's results; Inputs must return the same contents every time (Check
// verifies it for the memory it can read). The outputs compared are the
// arguments at the kernel's Written pointer parameters, unless [Case.Outputs]
// lists argument indexes or [Case.Results] extracts them (for data a
// kernel reaches through pointers stored in memory).
//
// # Runs
//
// [Check] runs the case once per target and compares every run with the
// baseline: the Go body on the cpu device when the kernel has one, else
// the reference, else the first run that succeeded. Targets are named like
// devices, with an optional path:
//
//	cpu            the compiled source, natively (hand-written HostFast paths off)
//	simgpu         the compiled source, instrumented, on the simulated GPU
//	opencl         the source built by OpenCL device 0 ("opencl:N": device N)
//	opencl/buffer  the same, in buffer mode (ranges staged into SVM buffers)
//	cpu/go         the Go body on the cpu device (always run when there is a body)
//	simgpu/go      the Go body on the simulated GPU, through its MMU
//	cpu/fast       the kernel's HostFast path (MulMat's sgemm, SumReduce's tree)
//
// With no targets, Check uses [DefaultTargets]: cpu, simgpu and opencl (a
// skipped run saying why when OpenCL is unavailable). A case with a
// [Case.Reference] also runs it as "host/ref". A run that cannot happen here
// is skipped with the reason, never dropped: no clang-15 toolchain
// (kernels.ErrNoToolchain: the cpu and simgpu source runs skip), no
// OpenCL, a buffer-mode device that cannot follow the kernel's pointers.
//
// A Go kernel's compiled source is the same code a kernels.Compile'd
// program runs; [FromSource] turns a case into one for the kernel built
// from its OpenCL C alone (parameters from the compiler, __local memory as
// an explicit argument), with the Go body as its reference.
//
// # Results
//
// A [Report] holds every run and its differences; [Report.OK] is false when
// an output differs or a launch failed (a kernel that fails on one device
// and not on another is a difference too), and [Report.String] prints one
// line per run. [T] and [CheckAll] are the conveniences for tests and
// tools; [Library] has a case for every kernel of package kernels, which
// `svmrt check` runs.
//
// Results are expected to be bit-identical. A kernel whose results cannot be
// (a source and a body that legitimately round differently) states how far
// apart they may be in [Case.Tolerance], with the reason, which every report
// of the case prints.
package kerneltest
