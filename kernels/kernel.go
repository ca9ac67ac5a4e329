package kernels

import (
	"errors"
	"fmt"
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
)

var kindNames = [...]string{
	PtrF32: "PtrF32", PtrI32: "PtrI32", PtrU32: "PtrU32", PtrU8: "PtrU8", PtrAny: "PtrAny",
	F32: "F32", I32: "I32", U32: "U32", I64: "I64", U64: "U64",
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
	switch {
	case k.IsPointer(), k == I64, k == U64:
		return 8
	case k == F32, k == I32, k == U32:
		return 4
	}
	return 0
}

// Param describes one kernel parameter.
type Param struct {
	Name string
	Kind Kind
	// Written: the kernel may write through this pointer. Backends use it to
	// know which ranges must be brought back (or invalidated) after a launch.
	Written bool
}

// MaxWorkGroupSize is the largest number of work-items in one work-group that
// svmrt's executors accept (the common OpenCL device limit).
const MaxWorkGroupSize = 1024

// Kernel is one computation in svmrt's model: an OpenCL C source and a Go body
// that must agree (the conformance suite checks them against each other).
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
}

// String returns the kernel's name.
func (k *Kernel) String() string { return k.Name }
