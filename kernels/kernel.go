package kernels

import (
	"errors"
	"fmt"

	"github.com/svmrt/svmrt/internal/clc"
)

// Sentinel errors. Errors returned by this package wrap one of them and add
// the details (kernel, parameter, dimension, work-item).
var (
	// ErrInvalidNDRange: the NDRange (or a group index into it) is malformed.
	ErrInvalidNDRange = errors.New("kernels: invalid NDRange")
	// ErrBadArgs: the arguments do not match the kernel's parameters.
	ErrBadArgs = errors.New("kernels: bad kernel arguments")
	// ErrBarrierDivergence: the work-items of a group did not all reach the
	// same barriers (OpenCL leaves this undefined; here it is an error).
	ErrBarrierDivergence = errors.New("kernels: barrier divergence")
)

// Kind is the type of a kernel parameter.
//
// The zero Kind is invalid, so a Param literal that forgets its Kind is
// rejected by Bind instead of silently meaning something.
type Kind uint8

const (
	PtrF32 Kind = iota + 1 // __global float*: []float32, *float32, *[N]float32
	PtrI32                 // __global int*: []int32, *int32, *[N]int32
	PtrU32                 // __global uint*: []uint32, *uint32, *[N]uint32
	PtrU8                  // __global uchar*: []byte, *byte, *[N]byte
	PtrAny                 // any pointer: unsafe.Pointer, uintptr, *T, []T of any T
	F32                    // float
	I32                    // int
	U32                    // uint
	I64                    // long
	U64                    // ulong
	F64                    // double
	I8                     // char
	U8                     // uchar
	I16                    // short
	U16                    // ushort
	// LocalMem is a __local pointer parameter: the argument is the size in
	// bytes of the work-group's local buffer (an integer); the kernel gets
	// a pointer to a fresh buffer of that size in every work-group.
	LocalMem
	// Value is a parameter passed by value that is neither a pointer nor a
	// scalar: a vector (float4) or a struct. The argument is its bytes: a
	// []byte of exactly Param.Size bytes, or any Go value of that size whose
	// layout matches the OpenCL type's ([4]float32 for float4, a Go struct
	// with the same fields for a struct).
	Value
)

var kindNames = [...]string{
	PtrF32: "PtrF32", PtrI32: "PtrI32", PtrU32: "PtrU32", PtrU8: "PtrU8", PtrAny: "PtrAny",
	F32: "F32", I32: "I32", U32: "U32", I64: "I64", U64: "U64",
	F64: "F64", I8: "I8", U8: "U8", I16: "I16", U16: "U16", LocalMem: "LocalMem", Value: "Value",
}

// String returns the Go name of the kind ("PtrF32").
func (k Kind) String() string {
	if k >= 1 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// IsPointer reports whether arguments of this kind are addresses.
func (k Kind) IsPointer() bool { return k >= PtrF32 && k <= PtrAny }

// Size is the size in bytes of the argument value as an OpenCL kernel
// argument: 8 for pointers (svmrt requires 64-bit device addresses), 4 or 8
// for scalars, 0 for an invalid kind.
func (k Kind) Size() int {
	switch k {
	case PtrF32, PtrI32, PtrU32, PtrU8, PtrAny, I64, U64, F64:
		return 8
	case F32, I32, U32:
		return 4
	case I16, U16:
		return 2
	case I8, U8:
		return 1
	}
	return 0 // LocalMem and Value: see Param.Size
}

// Param describes one kernel parameter.
type Param struct {
	Name string
	Kind Kind
	// Written: the kernel may write through this pointer. Backends use it to
	// know which ranges must be brought back (or invalidated) after a launch.
	// For a compiled kernel it comes from the source: every __global or
	// generic pointer that is not const.
	Written bool
	// Size is the size in bytes of a Value parameter (a float4 is 16, a
	// float3 16 too); 0 otherwise.
	Size int
	// Type is the OpenCL type of a compiled kernel's parameter ("float*",
	// "float4", "struct pair"); "" for kernels declared in Go.
	Type string
}

// MaxWorkGroupSize is the largest number of work-items in one work-group that
// svmrt's executors accept (the common OpenCL device limit).
const MaxWorkGroupSize = 1024

// Kernel is one computation in svmrt's model. A kernel of a Program (see
// Compile) is its OpenCL C source alone, with parameters read from the
// compiler; every device runs it. A kernel declared as a Go value may have
// a Source, a Go Body, or both (the library's have both, and a test checks
// that they agree); devices run the compiled Source when they can (see
// Compiled) and the Body otherwise.
type Kernel struct {
	// Name is the kernel's name; Source defines a __kernel function of the
	// same name, so an OpenCL backend can clCreateKernel(program, Name).
	Name string
	// Params lists the parameters in order; Bind checks arguments against it.
	Params []Param
	// Source is the OpenCL C 2.0 source. Its kernel function takes Params in
	// order (pointers as __global pointers, scalars as float/int/uint/long/
	// ulong) and, when LocalBytes is not nil, one more trailing __local
	// pointer argument of LocalBytes bytes (dynamic local memory must be an
	// argument in OpenCL).
	Source string
	// Barriers: the body calls it.Barrier(); executors must then run the
	// items of a group concurrently (RunGroup forces it).
	Barriers bool
	// LocalBytes gives the work-group local memory size for a launch; nil
	// means no local memory.
	LocalBytes func(nd NDRange, a *Args) int
	// Body is the reference body, run by the cpu and simgpu backends once per
	// work-item. It must access global memory only through the Item.
	Body func(it *Item, a *Args)
	// HostFast is an optional host-only fast path for a whole launch (the cpu
	// backend). It returns false, having done nothing, if it does not apply
	// to these arguments; otherwise it must leave memory as Body would.
	// workers is the device's worker count, the most goroutines a fast path
	// should run on, the calling one included (MulMat's honours it).
	HostFast func(nd NDRange, a *Args, workers int) bool

	// The compiled program this kernel is part of (nil for Go values).
	program *Program
	info    *clc.KernelInfo
}

// Program returns the compiled program the kernel belongs to, nil for a
// kernel declared in Go (see Compiled).
func (k *Kernel) Program() *Program { return k.program }

// Info is the compiler's description of a compiled kernel (nil for a kernel
// declared in Go).
func (k *Kernel) Info() *clc.KernelInfo { return k.info }

// String returns the kernel's name.
func (k *Kernel) String() string { return k.Name }
