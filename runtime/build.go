package runtime

import (
	"context"

	"github.com/svmrt/svmrt/kernels"
)

// Errors of Build, for errors.Is (see kernels.Compile): the source does not
// compile (a *kernels.BuildError with clang's file:line diagnostics), the
// options string is invalid, the program uses a feature svmrt does not
// implement (a *kernels.UnsupportedError naming it and its line; also
// ErrNotSupported), or clang-15/llvm-15 are not installed (also
// ErrNotSupported; the error names the Debian packages).
var (
	ErrBuild               = kernels.ErrBuild
	ErrInvalidBuildOptions = kernels.ErrInvalidBuildOptions
	ErrUnsupported         = kernels.ErrUnsupported
	ErrNoToolchain         = kernels.ErrNoToolchain
)

// Build compiles an OpenCL C program (clBuildProgram's options string in
// options, "" for none: -D, -I, -cl-std=CL1.2|CL2.0|CL3.0, ...) and returns
// its kernels, whose parameters come from the source: a `__global const T*`
// is read-only, any other global pointer may be written, `__local T*`
// takes its size in bytes at launch, scalars, vectors and structs are
// passed by value. Every device runs them — cpu natively, simgpu through
// its simulated MMU, opencl through the ICD loader — with the program's own
// pointers as arguments:
//
//	p, err := runtime.Build(ctx, src, "")
//	err = dev.Run(ctx, p.Kernel("scale"), kernels.Range1D(n, 64), y, x, float32(2))
//
// Results are cached on disk, keyed by source, options and toolchain, so a
// second process (or run) does not compile again.
func Build(ctx context.Context, src, options string) (*kernels.Program, error) {
	return kernels.Compile(src, kernels.WithBuildOptions(options), kernels.WithContext(ctx))
}
