package kerneltest

import (
	"fmt"

	"github.com/svmrt/svmrt/kernels"
)

// FromSource returns c with its kernel built from OpenCL C only: the
// kernel compiled from c.Kernel.Source by kernels.Compile, whose
// parameters come from the compiler, with no Go body and no HostFast path.
// A Go declaration's LocalBytes becomes the explicit trailing __local
// argument the compiled kernel takes (Inputs gets it appended). When c has
// no Reference, the Go body becomes one: every work-group run on the host
// by kernels.RunGroup. So the compiled source alone is checked on every
// device against the Go body (or the case's reference).
//
// The error is the compiler's (errors.Is(err, kernels.ErrNoToolchain) when
// clang-15 is missing), or a kernel without source.
func FromSource(c Case) (Case, error) {
	k := c.Kernel
	if k == nil || k.Source == "" {
		return c, fmt.Errorf("kerneltest: FromSource: case %s: the kernel has no OpenCL C source", c.name())
	}
	if k.Program() != nil {
		return c, nil // already built from source
	}
	// The same file name as Kernel.Compiled's, so both share the compile
	// (and its disk cache).
	p, err := kernels.Compile(k.Source, kernels.WithFileName(k.Name+".cl"))
	if err != nil {
		return c, fmt.Errorf("kerneltest: FromSource: case %s: %w", c.name(), err)
	}
	sk := p.Kernel(k.Name)
	if sk == nil {
		return c, fmt.Errorf("kerneltest: FromSource: case %s: the source defines no kernel %s", c.name(), k.Name)
	}
	out := c
	out.Name = c.name() + "/from-source"
	out.Kernel = sk
	n := len(k.Params)
	inputs := c.Inputs
	if k.LocalBytes != nil {
		out.Inputs = func() []any {
			args := inputs()
			a, err := kernels.Bind(k, args...)
			if err != nil {
				panic(fmt.Sprintf("kerneltest: FromSource: case %s: %v", c.name(), err))
			}
			return append(args, k.LocalBytes(c.Range, a))
		}
	}
	if c.Outputs == nil && c.Results == nil {
		// The Go declaration's written pointers, not the compiler's guess
		// (a source may leave a written pointer non-const without writing).
		for i, p := range k.Params {
			if p.Kind.IsPointer() && p.Written {
				out.Outputs = append(out.Outputs, i)
			}
		}
	}
	strip := func(f func([]any)) func([]any) {
		if f == nil {
			return nil
		}
		return func(args []any) { f(args[:n]) }
	}
	if c.Results != nil {
		results := c.Results
		out.Results = func(args []any) []Output { return results(args[:n]) }
	}
	out.Release = strip(c.Release)
	out.Reference = strip(c.Reference)
	if c.Reference == nil && k.Body != nil {
		out.Reference = func(args []any) { runBody(k, c.Range, args[:n]) }
	}
	return out, nil
}

// runBody runs k's Go body over nd on the host, group by group.
func runBody(k *kernels.Kernel, nd kernels.NDRange, args []any) {
	a, err := kernels.Bind(k, args...)
	if err != nil {
		panic(err)
	}
	cfg := kernels.GroupConfig{}
	if k.LocalBytes != nil {
		cfg.Local = make([]byte, k.LocalBytes(nd, a))
	}
	for g := range nd.TotalGroups() {
		if err := kernels.RunGroup(k, nd, g, a, cfg); err != nil {
			panic(err)
		}
	}
}
