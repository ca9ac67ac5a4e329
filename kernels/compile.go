package kernels

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/internal/clc"
)

// Errors of Compile, for errors.Is. A failed build is a *BuildError
// (clang's log with file:line diagnostics) that matches ErrBuild; a feature
// svmrt does not implement (images, pipes, device-side enqueue, sub-groups,
// printf, a builtin the library lacks) matches ErrUnsupported, which is
// also ErrNotSupported; a machine without clang-15/llvm-15 gives an error
// matching ErrNoToolchain and ErrNotSupported that names the packages.
var (
	ErrBuild               = clc.ErrBuild
	ErrInvalidBuildOptions = clc.ErrInvalidBuildOptions
	ErrUnsupported         = clc.ErrUnsupported
	ErrNoToolchain         = clc.ErrNoToolchain
)

// Error types of Compile, for errors.As.
type (
	// BuildError is a failed build: clang's log, and its diagnostics
	// (file, line, column, severity, message) parsed.
	BuildError = clc.BuildError
	// Diagnostic is one diagnostic of a BuildError.
	Diagnostic = clc.Diag
	// UnsupportedError names an OpenCL C feature svmrt does not implement
	// (images, pipes, device-side enqueue, sub-groups, printf, a builtin
	// the library lacks) and where the program uses it.
	UnsupportedError = clc.UnsupportedError
)

// Program is an OpenCL C program compiled by clang: its kernels, each with
// its parameter list read from the compiler's kernel-argument metadata.
// Every svmrt device runs a Program's kernels: cpu natively, simgpu with
// every global memory access through its MMU, opencl through the ICD
// loader. A Program is immutable and safe for concurrent use.
type Program struct {
	// Source and Options are what the program was compiled from.
	Source, Options string
	// Kernels are the program's kernels in definition order.
	Kernels []*Kernel

	tc  *clc.Toolchain
	mod *clc.Module
}

// CompileOption configures Compile.
type CompileOption func(*compileConfig)

type compileConfig struct {
	options, name string
	ctx           context.Context
}

// WithBuildOptions passes an OpenCL build options string (clBuildProgram's:
// -D NAME=value, -I dir, -cl-std=CL1.2|CL2.0|CL3.0, -cl-fast-relaxed-math,
// -cl-mad-enable, -w, -Werror, ...). Unknown options fail with
// ErrInvalidBuildOptions.
func WithBuildOptions(opts string) CompileOption { return func(c *compileConfig) { c.options = opts } }

// WithFileName names the source in diagnostics (default "program.cl").
func WithFileName(name string) CompileOption { return func(c *compileConfig) { c.name = name } }

// WithContext bounds the compilation (clang runs as a child process).
func WithContext(ctx context.Context) CompileOption { return func(c *compileConfig) { c.ctx = ctx } }

// Compile compiles OpenCL C source (OpenCL C 3.0 by default, with the
// optional features svmrt supports: generic address space, program-scope
// globals, fp64, 64-bit and all-devices atomics) and returns its kernels.
// Results are cached on disk ($SVMRT_CACHE_DIR, else the user cache
// directory; SVMRT_CACHE=off disables it).
func Compile(src string, opts ...CompileOption) (*Program, error) {
	cfg := compileConfig{ctx: context.Background()}
	for _, o := range opts {
		o(&cfg)
	}
	tc, err := clc.FindToolchain()
	if err != nil {
		return nil, err
	}
	m, err := tc.Compile(cfg.ctx, src, clc.Options{Name: cfg.name, Build: cfg.options})
	if err != nil {
		return nil, err
	}
	p := &Program{Source: src, Options: cfg.options, tc: tc, mod: m}
	for i := range m.Kernels {
		k, err := kernelFromInfo(p, &m.Kernels[i])
		if err != nil {
			return nil, err
		}
		p.Kernels = append(p.Kernels, k)
	}
	return p, nil
}

// Kernel returns the program's kernel called name, or nil.
func (p *Program) Kernel(name string) *Kernel {
	for _, k := range p.Kernels {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Module and Toolchain are the compiler's output and the toolchain that made
// it, for backends that build the program for their device.
func (p *Program) Module() *clc.Module       { return p.mod }
func (p *Program) Toolchain() *clc.Toolchain { return p.tc }

// kernelFromInfo makes the Kernel for one compiled kernel: its parameters
// from the metadata.
func kernelFromInfo(p *Program, info *clc.KernelInfo) (*Kernel, error) {
	k := &Kernel{Name: info.Name, Source: p.Source, program: p, info: info}
	for _, ip := range info.Params {
		par := Param{Name: ip.Name, Size: ip.Size, Type: ip.Type}
		switch {
		case ip.Pointer && ip.AddrSpace == clc.Local:
			par.Kind = LocalMem
		case ip.Pointer:
			par.Kind = pointerKind(ip.Elem)
			par.Written = ip.Writable()
		default:
			par.Kind = scalarKind(ip.BaseType, ip.Size)
		}
		if par.Kind == Value && ip.Size <= 0 {
			return nil, fmt.Errorf("%w: kernel %s: parameter %s of type %s has no size", ErrUnsupported, info.Name, ip.Name, ip.Type)
		}
		k.Params = append(k.Params, par)
	}
	return k, nil
}

func pointerKind(elem string) Kind {
	e := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(elem, "volatile "), "const "))
	e = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(e, "volatile "), "const "))
	switch e {
	case "float", "atomic_float":
		return PtrF32
	case "int", "atomic_int":
		return PtrI32
	case "uint", "unsigned int", "atomic_uint":
		return PtrU32
	case "uchar", "unsigned char", "char":
		return PtrU8
	}
	return PtrAny
}

func scalarKind(t string, size int) Kind {
	switch t {
	case "float":
		return F32
	case "double":
		return F64
	case "int":
		return I32
	case "uint", "unsigned int":
		return U32
	case "long":
		return I64
	case "ulong", "unsigned long", "size_t", "uintptr_t":
		return U64
	case "short":
		return I16
	case "ushort", "unsigned short":
		return U16
	case "char", "signed char":
		return I8
	case "uchar", "unsigned char":
		return U8
	}
	return Value
}

// Compiled reports the kernel's compiled form: the kernel itself for a
// kernel of a Program, else the kernel compiled from its Source (once per
// process; the error is kept), or nil with ErrNotSupported for a kernel
// with only a Go body.
func (k *Kernel) Compiled() (*Kernel, error) {
	if k.program != nil {
		return k, nil
	}
	if k.Source == "" {
		return nil, fmt.Errorf("kernels: kernel %s has no OpenCL C source: %w", k.Name, errNoSource)
	}
	v, _ := compiledKernels.LoadOrStore(k, &compiledState{})
	st := v.(*compiledState)
	st.once.Do(func() {
		p, err := Compile(k.Source, WithFileName(k.Name+".cl"))
		if err != nil {
			st.err = err
			return
		}
		c := p.Kernel(k.Name)
		if c == nil {
			st.err = fmt.Errorf("kernels: the source of %s defines no kernel %s", k.Name, k.Name)
			return
		}
		if err := compatible(k, c); err != nil {
			st.err = err
			return
		}
		st.k = c
	})
	return st.k, st.err
}

var errNoSource = errors.New("no OpenCL C source")

// compatible checks that a kernel's declared parameters (for its Go body)
// agree with its compiled source's: the same kinds (PtrAny matches any
// pointer), every pointer the source may write declared Written, plus a
// trailing __local parameter when it has LocalBytes.
func compatible(k, c *Kernel) error {
	want := len(k.Params)
	if k.LocalBytes != nil {
		want++
	}
	if len(c.Params) != want {
		return fmt.Errorf("%w: kernel %s: Params has %d parameters (+1 local with LocalBytes), its source %d",
			ErrBadArgs, k.Name, len(k.Params), len(c.Params))
	}
	for i, p := range k.Params {
		cp := c.Params[i]
		// PtrAny on either side (a Go kernel that takes any pointer, a
		// source pointer to a struct, void or a type without a Kind) is
		// any pointer.
		sameKind := p.Kind == cp.Kind || (p.Kind.IsPointer() && cp.Kind.IsPointer() && (p.Kind == PtrAny || cp.Kind == PtrAny))
		// A pointer the Go declaration calls written that the source takes
		// as const is harmless; the other way round, a device that stages
		// memory (OpenCL buffer mode) would not copy the kernel's writes back.
		if !sameKind || (cp.Written && !p.Written) {
			return fmt.Errorf("%w: kernel %s: param %d (%s) is %v written=%v, but its source says %s %s (%v written=%v)",
				ErrBadArgs, k.Name, i, p.Name, p.Kind, p.Written, cp.Type, cp.Name, cp.Kind, cp.Written)
		}
	}
	if k.LocalBytes != nil && c.Params[want-1].Kind != LocalMem {
		return fmt.Errorf("%w: kernel %s has LocalBytes but its source's last parameter %s is not __local",
			ErrBadArgs, k.Name, c.Params[want-1].Name)
	}
	return nil
}

// ArgValue is one argument as a compiled kernel takes it: its bytes, or,
// for a __local pointer, the size of the work-group's local memory.
type ArgValue struct {
	Bytes []byte
	Local int
}

// Values turns arguments bound for k (Bind(k, ...)) into the bytes its
// compiled form c takes, parameter by parameter. A kernel with LocalBytes
// gets its local memory size for nd as the trailing __local argument.
func (k *Kernel) Values(c *Kernel, nd NDRange, a *Args) ([]ArgValue, error) {
	if err := a.Check(k); err != nil {
		return nil, err
	}
	out := make([]ArgValue, len(c.Params))
	for i, p := range c.Params {
		if i >= len(k.Params) {
			if p.Kind != LocalMem || k.LocalBytes == nil {
				return nil, fmt.Errorf("%w: kernel %s: no value for parameter %d (%s)", ErrBadArgs, c.Name, i, p.Name)
			}
			out[i].Local = k.LocalBytes(nd, a)
			continue
		}
		switch p.Kind {
		case LocalMem:
			out[i].Local = int(a.Words[i])
		case Value:
			out[i].Bytes = a.Values[i]
		default:
			b := make([]byte, 8)
			binary.LittleEndian.PutUint64(b, a.Words[i])
			out[i].Bytes = b[:p.Kind.Size()]
		}
	}
	return out, nil
}

// compiledKernels holds the compiled form of kernels given as Go values
// with a Source (the library's), keyed by *Kernel.
var compiledKernels sync.Map

type compiledState struct {
	once sync.Once
	k    *Kernel
	err  error
}

// Runnable returns what a device that compiles OpenCL C runs for k: k
// itself when it is a compiled kernel (kernels.Compile), the compiled form
// of its Source otherwise, or nil to run its Go Body — when it has no
// Source, when goBodies asks for the Body, or when clang-15 is missing and
// the Body does the same work.
func (k *Kernel) Runnable(goBodies bool) (*Kernel, error) {
	if k.Program() != nil {
		return k, nil
	}
	if k.Source == "" || (goBodies && k.Body != nil) {
		return nil, nil
	}
	c, err := k.Compiled()
	if err != nil {
		if k.Body != nil && errors.Is(err, ErrNoToolchain) {
			return nil, nil
		}
		return nil, err
	}
	return c, nil
}
