package icd

/*
#include "icd.h"
*/
import "C"

import (
	"bytes"
	gocontext "context"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/kernels"
)

// Kernels are a built program's kernels (kernels.Kernel, parameters from
// clang's argument metadata) with the arguments set so far. Arguments are
// kept as the Go values runtime's Launch binds (kernels.Bind): pointers as
// uintptr — any address of the process, the point of fine-grained system
// SVM —, scalars as Go numbers of the parameter's type, vectors and structs
// as their bytes, __local pointers as their size. A launch copies them, so
// setting an argument after clEnqueueNDRangeKernel does not change the
// launch (the spec's rule).
//
// A kernel holds its program (which cannot be rebuilt while kernels exist).

type kernel struct {
	h    unsafe.Pointer
	refs int
	prog *program
	k    *kernels.Kernel
	info *clc.KernelInfo
	args []any  // nil until set
	set  []bool // which args are set
	// mems are the buffers set as arguments (nil elsewhere): a launch holds
	// them until it ends.
	mems []*mem
}

func (*kernel) kind() Kind { return KindKernel }

func kernelOfLocked(h unsafe.Pointer) *kernel {
	k, _ := lookupLocked(KindKernel, h).(*kernel)
	return k
}

// newKernelLocked makes a kernel object for k of p. reg.mu must be held.
func newKernelLocked(p *program, k *kernels.Kernel) *kernel {
	o := &kernel{refs: 1, prog: p, k: k, info: k.Info(), args: make([]any, len(k.Params)), set: make([]bool, len(k.Params)),
		mems: make([]*mem, len(k.Params))}
	o.h = newHandleLocked(o)
	if o.h == nil {
		return nil
	}
	p.kernels++
	return o
}

//export svmrt_go_create_kernel
func svmrt_go_create_kernel(ph unsafe.Pointer, name *C.char, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	p := programOfLocked(ph)
	if p == nil {
		setErr(errRet, C.CL_INVALID_PROGRAM)
		return nil
	}
	if name == nil {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	if p.prog == nil {
		setErr(errRet, C.CL_INVALID_PROGRAM_EXECUTABLE)
		return nil
	}
	k := p.prog.Kernel(C.GoString(name))
	if k == nil {
		setErr(errRet, C.CL_INVALID_KERNEL_NAME)
		return nil
	}
	o := newKernelLocked(p, k)
	if o == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return o.h
}

//export svmrt_go_create_kernels
func svmrt_go_create_kernels(ph unsafe.Pointer, n C.cl_uint, out *unsafe.Pointer, nret *C.cl_uint) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	p := programOfLocked(ph)
	if p == nil {
		return C.CL_INVALID_PROGRAM
	}
	if p.prog == nil {
		return C.CL_INVALID_PROGRAM_EXECUTABLE
	}
	ks := p.prog.Kernels
	if out != nil && int(n) < len(ks) {
		return C.CL_INVALID_VALUE
	}
	if out != nil {
		hs := unsafe.Slice(out, len(ks))
		for i, k := range ks {
			o := newKernelLocked(p, k)
			if o == nil {
				return C.CL_OUT_OF_HOST_MEMORY
			}
			hs[i] = o.h
		}
	}
	if nret != nil {
		*nret = C.cl_uint(len(ks))
	}
	return C.CL_SUCCESS
}

//export svmrt_go_clone_kernel
func svmrt_go_clone_kernel(kh unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	src := kernelOfLocked(kh)
	if src == nil {
		setErr(errRet, C.CL_INVALID_KERNEL)
		return nil
	}
	o := newKernelLocked(src.prog, src.k)
	if o == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	copy(o.args, src.args) // the values are immutable: sharing them is a copy
	copy(o.set, src.set)
	copy(o.mems, src.mems)
	setErr(errRet, C.CL_SUCCESS)
	return o.h
}

// scalarValue turns the bytes of a scalar argument into the Go value Bind
// takes for its kind.
func scalarValue(kind kernels.Kind, b []byte) (any, bool) {
	var w [8]byte
	copy(w[:], b)
	u := binary.LittleEndian.Uint64(w[:])
	switch kind {
	case kernels.F32:
		return math.Float32frombits(uint32(u)), true
	case kernels.F64:
		return math.Float64frombits(u), true
	case kernels.I32:
		return int32(uint32(u)), true
	case kernels.U32:
		return uint32(u), true
	case kernels.I64:
		return int64(u), true
	case kernels.U64:
		return u, true
	case kernels.I8:
		return int8(uint8(u)), true
	case kernels.U8:
		return uint8(u), true
	case kernels.I16:
		return int16(uint16(u)), true
	case kernels.U16:
		return uint16(u), true
	}
	return nil, false
}

//export svmrt_go_set_kernel_arg
func svmrt_go_set_kernel_arg(kh unsafe.Pointer, index C.cl_uint, size C.size_t, value unsafe.Pointer, svmPtr C.int) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	k := kernelOfLocked(kh)
	if k == nil {
		return C.CL_INVALID_KERNEL
	}
	if int(index) >= len(k.k.Params) {
		return C.CL_INVALID_ARG_INDEX
	}
	p := k.k.Params[index]
	ip := k.info.Params[index]
	var v any
	var buf *mem
	switch {
	case svmPtr != 0:
		// clSetKernelArgSVMPointer: any address is valid on the device.
		if !p.Kind.IsPointer() || p.Kind == kernels.LocalMem {
			return C.CL_INVALID_ARG_VALUE
		}
		v = uintptr(value)
	case p.Kind == kernels.LocalMem:
		if value != nil {
			return C.CL_INVALID_ARG_VALUE
		}
		if size == 0 || uint64(size) > simgpu.DefaultLocalMemory {
			return C.CL_INVALID_ARG_SIZE
		}
		v = int(size)
	case p.Kind.IsPointer():
		// A buffer argument: the value is a cl_mem, and the kernel gets
		// its storage's address (mem.go). NULL, or a NULL cl_mem, is a
		// NULL pointer.
		if uint64(size) != uint64(unsafe.Sizeof(value)) {
			return C.CL_INVALID_ARG_SIZE
		}
		v = uintptr(0)
		if value != nil {
			if h := *(*unsafe.Pointer)(value); h != nil {
				if buf = memOfLocked(h); buf == nil {
					return C.CL_INVALID_MEM_OBJECT
				}
				v = uintptr(buf.base)
			}
		}
	default:
		if uint64(size) != uint64(ip.Size) {
			return C.CL_INVALID_ARG_SIZE
		}
		if value == nil {
			return C.CL_INVALID_ARG_VALUE
		}
		b := bytes.Clone(unsafe.Slice((*byte)(value), int(size)))
		if p.Kind == kernels.Value {
			v = b
		} else {
			var ok bool
			if v, ok = scalarValue(p.Kind, b); !ok {
				return C.CL_INVALID_ARG_VALUE
			}
		}
	}
	k.args[index] = v
	k.set[index] = true
	k.mems[index] = buf
	return C.CL_SUCCESS
}

//export svmrt_go_set_kernel_exec_info
func svmrt_go_set_kernel_exec_info(kh unsafe.Pointer, name C.cl_kernel_exec_info, size C.size_t, value unsafe.Pointer) C.cl_int {
	if !valid(KindKernel, kh) {
		return C.CL_INVALID_KERNEL
	}
	if name == C.CL_KERNEL_EXEC_INFO_SVM_PTRS && size == 0 && value == nil {
		return C.CL_SUCCESS // unsets the pointers set before (OpenCL 3.0): none are kept
	}
	if value == nil {
		return C.CL_INVALID_VALUE
	}
	switch name {
	case C.CL_KERNEL_EXEC_INFO_SVM_PTRS:
		// The pointers a kernel reaches other than through its arguments:
		// with fine-grained system SVM every address is reachable, so the
		// list needs no keeping.
		if size == 0 || size%C.size_t(unsafe.Sizeof(value)) != 0 {
			return C.CL_INVALID_VALUE
		}
	case C.CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM:
		// CL_TRUE is what the device does anyway; CL_FALSE only promises
		// the kernel uses no other memory, which changes nothing either.
		if size != C.size_t(unsafe.Sizeof(C.cl_bool(0))) {
			return C.CL_INVALID_VALUE
		}
	default:
		return C.CL_INVALID_VALUE
	}
	return C.CL_SUCCESS
}

// attributes is CL_KERNEL_ATTRIBUTES: the kernel's attributes as the
// source wrote them.
func attributes(info *clc.KernelInfo, mod *clc.Module) string {
	var as []string
	if r := info.ReqdWorkGroupSize; r != [3]int{} {
		as = append(as, fmt.Sprintf("reqd_work_group_size(%d,%d,%d)", r[0], r[1], r[2]))
	}
	if r := info.WorkGroupSizeHint; r != [3]int{} {
		as = append(as, fmt.Sprintf("work_group_size_hint(%d,%d,%d)", r[0], r[1], r[2]))
	}
	if t := clType(info.VecTypeHint); t != "" {
		if !strings.HasPrefix(t, "float") && !strings.HasPrefix(t, "double") && !strings.HasPrefix(t, "half") &&
			vecHintUnsigned(mod, info.Name) {
			t = "u" + t
		}
		as = append(as, "vec_type_hint("+t+")")
	}
	return strings.Join(as, " ")
}

// vecHintMetaRE finds a kernel definition's vec_type_hint metadata node.
var vecHintMetaRE = regexp.MustCompile(`!vec_type_hint !(\d+)\b`)

// vecHintUnsigned reports whether the kernel's vec_type_hint names an
// unsigned type (uint4, not int4): LLVM's integer types have no sign, so
// clang records it as the metadata's second operand, !{<4 x i32> undef,
// i32 0} for unsigned and i32 1 for signed, which clc.KernelInfo leaves
// out. false when the module cannot be read.
func vecHintUnsigned(mod *clc.Module, kernel string) bool {
	ll, err := mod.LL(gocontext.Background())
	if err != nil {
		return false
	}
	node := ""
	for _, line := range strings.Split(ll, "\n") {
		if strings.HasPrefix(line, "define ") && strings.Contains(line, " @"+kernel+"(") {
			if m := vecHintMetaRE.FindStringSubmatch(line); m != nil {
				node = "!" + m[1] + " = !{"
			}
			break
		}
	}
	if node == "" {
		return false
	}
	for _, line := range strings.Split(ll, "\n") {
		if strings.HasPrefix(line, node) {
			return strings.HasSuffix(strings.TrimSpace(line), ", i32 0}")
		}
	}
	return false
}

// clType is the OpenCL C name of an LLVM scalar or vector type ("<4 x
// float>" is float4), "" for other types.
func clType(ll string) string {
	scalar := map[string]string{"float": "float", "double": "double", "half": "half", "i8": "char", "i16": "short", "i32": "int", "i64": "long"}
	if s, ok := scalar[ll]; ok {
		return s
	}
	var n int
	var e string
	if _, err := fmt.Sscanf(ll, "<%d x %s", &n, &e); err == nil {
		if s, ok := scalar[strings.TrimSuffix(e, ">")]; ok {
			return fmt.Sprintf("%s%d", s, n)
		}
	}
	return ""
}

//export svmrt_go_kernel_info
func svmrt_go_kernel_info(kh unsafe.Pointer, name C.cl_kernel_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	k := kernelOfLocked(kh)
	if k == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_KERNEL
	}
	var v []byte
	switch name {
	case C.CL_KERNEL_FUNCTION_NAME:
		v = str(k.k.Name)
	case C.CL_KERNEL_NUM_ARGS:
		v = u32(uint32(len(k.k.Params)))
	case C.CL_KERNEL_REFERENCE_COUNT:
		v = u32(uint32(k.refs))
	case C.CL_KERNEL_CONTEXT:
		v = ptrs(k.prog.ctx.h)
	case C.CL_KERNEL_PROGRAM:
		v = ptrs(k.prog.h)
	case C.CL_KERNEL_ATTRIBUTES:
		// Reading the hint's signedness may disassemble the module: not
		// under the lock.
		info, mod := k.info, k.prog.prog.Module()
		reg.mu.Unlock()
		return writeInfo(str(attributes(info, mod)), size, out, ret)
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

//export svmrt_go_kernel_arg_info
func svmrt_go_kernel_arg_info(kh unsafe.Pointer, index C.cl_uint, name C.cl_kernel_arg_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	k := kernelOfLocked(kh)
	reg.mu.Unlock()
	if k == nil {
		return C.CL_INVALID_KERNEL
	}
	if int(index) >= len(k.info.Params) {
		return C.CL_INVALID_ARG_INDEX
	}
	// The compiler always keeps the argument metadata (-cl-kernel-arg-info
	// is always on), so the information is always available.
	ip := k.info.Params[index]
	var v []byte
	switch name {
	case C.CL_KERNEL_ARG_ADDRESS_QUALIFIER:
		q := C.cl_kernel_arg_address_qualifier(C.CL_KERNEL_ARG_ADDRESS_PRIVATE)
		if ip.Pointer {
			switch ip.AddrSpace {
			case clc.Global, clc.Generic:
				q = C.CL_KERNEL_ARG_ADDRESS_GLOBAL
			case clc.Constant:
				q = C.CL_KERNEL_ARG_ADDRESS_CONSTANT
			case clc.Local:
				q = C.CL_KERNEL_ARG_ADDRESS_LOCAL
			}
		}
		v = u32(uint32(q))
	case C.CL_KERNEL_ARG_ACCESS_QUALIFIER:
		q := C.cl_kernel_arg_access_qualifier(C.CL_KERNEL_ARG_ACCESS_NONE)
		switch ip.AccessQual {
		case "read_only":
			q = C.CL_KERNEL_ARG_ACCESS_READ_ONLY
		case "write_only":
			q = C.CL_KERNEL_ARG_ACCESS_WRITE_ONLY
		case "read_write":
			q = C.CL_KERNEL_ARG_ACCESS_READ_WRITE
		}
		v = u32(uint32(q))
	case C.CL_KERNEL_ARG_TYPE_NAME:
		v = str(ip.Type)
	case C.CL_KERNEL_ARG_TYPE_QUALIFIER:
		var q C.cl_kernel_arg_type_qualifier
		// The spec counts a __constant pointer as const too.
		if ip.Const || (ip.Pointer && ip.AddrSpace == clc.Constant) {
			q |= C.CL_KERNEL_ARG_TYPE_CONST
		}
		if ip.Volatile {
			q |= C.CL_KERNEL_ARG_TYPE_VOLATILE
		}
		if ip.Restrict {
			q |= C.CL_KERNEL_ARG_TYPE_RESTRICT
		}
		if ip.Pipe {
			q |= C.CL_KERNEL_ARG_TYPE_PIPE
		}
		v = u64(uint64(q))
	case C.CL_KERNEL_ARG_NAME:
		v = str(ip.Name)
	default:
		return C.CL_INVALID_VALUE
	}
	return writeInfo(v, size, out, ret)
}

// localBytesLocked is the local memory the kernel's __local arguments set
// so far take per work-group. reg.mu must be held.
func (k *kernel) localBytesLocked() uint64 {
	var n uint64
	for i, p := range k.k.Params {
		if p.Kind == kernels.LocalMem && k.set[i] {
			n += uint64(k.args[i].(int))
		}
	}
	return n
}

//export svmrt_go_kernel_work_group_info
func svmrt_go_kernel_work_group_info(kh, dh unsafe.Pointer, name C.cl_kernel_work_group_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	k := kernelOfLocked(kh)
	if k == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_KERNEL
	}
	devs := k.prog.ctx.devices
	var d *device
	if dh == nil {
		// NULL names the one device the kernel's program is for.
		if len(devs) != 1 {
			reg.mu.Unlock()
			return C.CL_INVALID_DEVICE
		}
		d = devs[0]
	} else if d, _ = lookupLocked(KindDevice, dh).(*device); d == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_DEVICE
	}
	local := k.localBytesLocked()
	reg.mu.Unlock()
	if name == C.CL_KERNEL_LOCAL_MEM_SIZE {
		local += k.prog.staticLocal()
	}
	var v []byte
	switch name {
	case C.CL_KERNEL_WORK_GROUP_SIZE:
		v = sizeT(kernels.MaxWorkGroupSize)
	case C.CL_KERNEL_COMPILE_WORK_GROUP_SIZE:
		r := k.info.ReqdWorkGroupSize
		v = sizes(uint64(r[0]), uint64(r[1]), uint64(r[2]))
	case C.CL_KERNEL_LOCAL_MEM_SIZE:
		// The __local arguments set so far and the program's static
		// __local variables.
		v = u64(local)
	case C.CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE:
		v = sizeT(uint64(d.sim.WarpSize()))
	case C.CL_KERNEL_PRIVATE_MEM_SIZE:
		// Not measured: the compiler does not size a kernel's private
		// variables (they live on the stacks of the simulated SMs'
		// work-items, not in device memory), so 0.
		v = u64(0)
	case C.CL_KERNEL_GLOBAL_WORK_SIZE:
		// Only for built-in kernels and custom devices.
		return C.CL_INVALID_VALUE
	default:
		return C.CL_INVALID_VALUE
	}
	return writeInfo(v, size, out, ret)
}
