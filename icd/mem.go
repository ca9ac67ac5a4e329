package icd

/*
#include "icd.h"
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// Buffers are host memory seen through SVM. The device has fine-grained
// system SVM, so a buffer needs no device copy: its storage is ordinary
// memory of the process — the application's own with CL_MEM_USE_HOST_PTR,
// else a private anonymous mapping the library makes (page-aligned, like
// clSVMAlloc's) — and a kernel gets its address as the argument. The
// simulated GPU migrates its pages on faults like any other memory's, and
// the buffer commands (buffer.go) run through the runtime's memory
// commands, which copy device-resident pages where they are.
//
// A sub-buffer is a window of its parent's storage: it holds the parent,
// which lives (its storage too) until its sub-buffers are gone. Every
// enqueued command that names a memory object holds it until the command
// ends, so releasing a buffer with commands pending is safe; its destructor
// callbacks run when nothing holds it any more, last registered first, and
// only then is the library's mapping unmapped.

type mem struct {
	h    unsafe.Pointer
	refs int // the application's references (CL_MEM_REFERENCE_COUNT)
	// holds counts what else keeps it: sub-buffers and pending commands.
	holds  int
	ctx    *context
	flags  C.cl_mem_flags // as CL_MEM_FLAGS reports them
	props  []C.cl_mem_properties
	size   uintptr
	base   unsafe.Pointer  // the storage's first byte
	host   unsafe.Pointer  // CL_MEM_HOST_PTR: host_ptr given with CL_MEM_USE_HOST_PTR, else nil
	svm    bool            // the storage lies in a clSVMAlloc allocation (CL_MEM_USES_SVM_POINTER)
	owned  []byte          // the library's mapping, unmapped when the buffer goes; nil for USE_HOST_PTR and sub-buffers
	parent *mem            // a sub-buffer's buffer (CL_MEM_ASSOCIATED_MEMOBJECT)
	offset uintptr         // a sub-buffer's origin in its parent (CL_MEM_OFFSET)
	maps   map[uintptr]int // pointers clEnqueueMapBuffer returned and not yet unmapped, with their counts
	dtors  []callback
}

func (*mem) kind() Kind { return KindMem }

// memOfLocked returns the buffer h names, nil when the application has
// released it (even while sub-buffers or commands still hold it). reg.mu
// must be held.
func memOfLocked(h unsafe.Pointer) *mem {
	m, _ := lookupLocked(KindMem, h).(*mem)
	if m == nil || m.refs == 0 {
		return nil
	}
	return m
}

// The flags of a buffer: one access flag at most, one host access flag at
// most, and the host pointer flags in the combinations the spec allows.
const (
	accessFlags  = C.CL_MEM_READ_WRITE | C.CL_MEM_WRITE_ONLY | C.CL_MEM_READ_ONLY
	hostFlags    = C.CL_MEM_HOST_WRITE_ONLY | C.CL_MEM_HOST_READ_ONLY | C.CL_MEM_HOST_NO_ACCESS
	hostPtrFlags = C.CL_MEM_USE_HOST_PTR | C.CL_MEM_ALLOC_HOST_PTR | C.CL_MEM_COPY_HOST_PTR
	bufferFlags  = accessFlags | hostFlags | hostPtrFlags
)

// oneOf reports whether at most one bit of set is in f.
func oneOf(f, set C.cl_mem_flags) bool {
	b := f & set
	return b&(b-1) == 0
}

// checkBufferFlags is clCreateBuffer's CL_INVALID_VALUE for flags.
func checkBufferFlags(f C.cl_mem_flags) bool {
	if f&^bufferFlags != 0 || !oneOf(f, accessFlags) || !oneOf(f, hostFlags) {
		return false
	}
	if f&C.CL_MEM_USE_HOST_PTR != 0 && f&(C.CL_MEM_ALLOC_HOST_PTR|C.CL_MEM_COPY_HOST_PTR) != 0 {
		return false
	}
	return true
}

//export svmrt_go_create_buffer
func svmrt_go_create_buffer(ch unsafe.Pointer, props *C.cl_mem_properties, withProps C.int, flags C.cl_mem_flags, size C.size_t,
	hostPtr unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	c := contextOfLocked(ch)
	reg.mu.Unlock()
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	var list []C.cl_mem_properties
	if withProps != 0 && props != nil {
		// No buffer property is defined for a device without extensions:
		// any name but the terminating 0 is CL_INVALID_PROPERTY.
		if *props != 0 {
			setErr(errRet, C.CL_INVALID_PROPERTY)
			return nil
		}
		list = []C.cl_mem_properties{0}
	}
	if flags == 0 {
		flags = C.CL_MEM_READ_WRITE
	}
	if !checkBufferFlags(flags) {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	if len(c.devices) == 0 || size == 0 || uint64(size) > uint64(c.devices[0].dev.Info().Caps.MemoryBytes) {
		setErr(errRet, C.CL_INVALID_BUFFER_SIZE)
		return nil
	}
	needPtr := flags&(C.CL_MEM_USE_HOST_PTR|C.CL_MEM_COPY_HOST_PTR) != 0
	if needPtr != (hostPtr != nil) {
		setErr(errRet, C.CL_INVALID_HOST_PTR)
		return nil
	}
	m := &mem{refs: 1, ctx: c, flags: flags, props: list, size: uintptr(size)}
	if flags&C.CL_MEM_USE_HOST_PTR != 0 {
		m.base, m.host = hostPtr, hostPtr
		if s, n, ok := svmExtent(uintptr(hostPtr)); ok {
			// An SVM pointer's buffer must fit in its allocation.
			if uintptr(hostPtr)+m.size > s+n {
				setErr(errRet, C.CL_INVALID_BUFFER_SIZE)
				return nil
			}
			m.svm = true
		}
	} else {
		b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
		if err != nil {
			setErr(errRet, C.CL_MEM_OBJECT_ALLOCATION_FAILURE)
			return nil
		}
		m.owned = b
		m.base = unsafe.Pointer(unsafe.SliceData(b))
		if flags&C.CL_MEM_COPY_HOST_PTR != 0 {
			copy(b, unsafe.Slice((*byte)(hostPtr), int(size)))
		}
	}
	reg.mu.Lock()
	m.h = newHandleLocked(m)
	if m.h != nil {
		c.deps++
	}
	reg.mu.Unlock()
	if m.h == nil {
		m.free()
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return m.h
}

// subBufferFlags is a sub-buffer's flags: those given, with the access and
// host access flags its buffer has where none are given, and its buffer's
// host pointer flags; ok is false for flags that contradict the buffer's.
func subBufferFlags(parent, f C.cl_mem_flags) (C.cl_mem_flags, bool) {
	if f&^(accessFlags|hostFlags) != 0 || !oneOf(f, accessFlags) || !oneOf(f, hostFlags) {
		return 0, false
	}
	pa, fa := parent&accessFlags, f&accessFlags
	switch {
	case fa == 0:
		f |= pa
	case pa == C.CL_MEM_WRITE_ONLY && fa != C.CL_MEM_WRITE_ONLY, pa == C.CL_MEM_READ_ONLY && fa != C.CL_MEM_READ_ONLY:
		return 0, false
	}
	ph, fh := parent&hostFlags, f&hostFlags
	switch {
	case fh == 0:
		f |= ph
	case ph != 0 && fh != ph && fh != C.CL_MEM_HOST_NO_ACCESS: // no access is allowed in any buffer
		return 0, false
	}
	return f | parent&hostPtrFlags, true
}

//export svmrt_go_create_sub_buffer
func svmrt_go_create_sub_buffer(bh unsafe.Pointer, flags C.cl_mem_flags, typ C.cl_buffer_create_type, info unsafe.Pointer,
	errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	p := memOfLocked(bh)
	if p == nil || p.parent != nil {
		setErr(errRet, C.CL_INVALID_MEM_OBJECT)
		return nil
	}
	f, ok := subBufferFlags(p.flags, flags)
	if !ok || typ != C.CL_BUFFER_CREATE_TYPE_REGION || info == nil {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	r := (*C.cl_buffer_region)(info)
	origin, size := uintptr(r.origin), uintptr(r.size)
	if size == 0 {
		setErr(errRet, C.CL_INVALID_BUFFER_SIZE)
		return nil
	}
	if origin > p.size || size > p.size-origin {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	if origin%(memBaseAddrAlign/8) != 0 {
		setErr(errRet, C.CL_MISALIGNED_SUB_BUFFER_OFFSET)
		return nil
	}
	m := &mem{refs: 1, ctx: p.ctx, flags: f, size: size, base: unsafe.Add(p.base, origin), svm: p.svm, parent: p, offset: origin}
	if p.host != nil {
		m.host = unsafe.Add(p.host, origin)
	}
	m.h = newHandleLocked(m)
	if m.h == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	p.holds++
	p.ctx.deps++
	setErr(errRet, C.CL_SUCCESS)
	return m.h
}

//export svmrt_go_mem_info
func svmrt_go_mem_info(h unsafe.Pointer, name C.cl_mem_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	m := memOfLocked(h)
	if m == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_MEM_OBJECT
	}
	var v []byte
	switch name {
	case C.CL_MEM_TYPE:
		v = u32(C.CL_MEM_OBJECT_BUFFER)
	case C.CL_MEM_FLAGS:
		v = u64(uint64(m.flags))
	case C.CL_MEM_SIZE:
		v = sizeT(uint64(m.size))
	case C.CL_MEM_HOST_PTR:
		v = ptrs(m.host)
	case C.CL_MEM_MAP_COUNT:
		n := 0
		for _, c := range m.maps {
			n += c
		}
		v = u32(uint32(n))
	case C.CL_MEM_REFERENCE_COUNT:
		v = u32(uint32(m.refs))
	case C.CL_MEM_CONTEXT:
		v = ptrs(m.ctx.h)
	case C.CL_MEM_ASSOCIATED_MEMOBJECT:
		if m.parent != nil {
			v = ptrs(m.parent.h)
		} else {
			v = ptrs(nil)
		}
	case C.CL_MEM_OFFSET:
		v = sizeT(uint64(m.offset))
	case C.CL_MEM_USES_SVM_POINTER:
		v = boolean(m.svm && m.host != nil)
	case C.CL_MEM_PROPERTIES:
		for _, p := range m.props {
			v = u64Append(v, uint64(p))
		}
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

//export svmrt_go_mem_destructor
func svmrt_go_mem_destructor(h, fn, userData unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	m := memOfLocked(h)
	if m == nil {
		return C.CL_INVALID_MEM_OBJECT
	}
	if fn == nil {
		return C.CL_INVALID_VALUE
	}
	m.dtors = append(m.dtors, callback{fn, userData})
	return C.CL_SUCCESS
}

// releaseMem drops the application's reference to a buffer (release's
// case for memory objects).
func releaseMemLocked(m *mem) []*mem {
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(reg.objs, m.h) // gone for the application
	return m.maybeDeleteLocked()
}

// maybeDeleteLocked deletes m when nothing holds it any more, and its
// buffer when m was the buffer's last hold; it returns the deleted objects,
// whose destructors the caller runs (memsGone) once reg.mu is let go.
func (m *mem) maybeDeleteLocked() []*mem {
	var gone []*mem
	for m != nil && m.refs == 0 && m.holds == 0 {
		gone = append(gone, m)
		p := m.parent
		if p != nil {
			p.holds--
		}
		m = p
	}
	return gone
}

// memsGone runs the deleted buffers' destructor callbacks (last registered
// first), then frees their storage and lets go of their contexts. reg.mu
// must not be held: a callback may call the library.
func memsGone(ms []*mem) {
	for _, m := range ms {
		for i := len(m.dtors) - 1; i >= 0; i-- {
			C.svmrt_icd_call_mem_destructor(m.dtors[i].fn, m.h, m.dtors[i].userData)
		}
		m.free()
		reg.mu.Lock()
		gone := detachLocked(m.ctx)
		reg.mu.Unlock()
		destroyed(gone)
	}
}

// free unmaps the library's mapping of a buffer.
func (m *mem) free() {
	if m.owned != nil {
		syscall.Munmap(m.owned)
		m.owned = nil
	}
}

// holdMems keeps buffers alive while a command that names them is pending;
// the returned function lets them go.
func holdMems(ms ...*mem) func() {
	reg.mu.Lock()
	for _, m := range ms {
		m.holds++
	}
	reg.mu.Unlock()
	return func() {
		var gone []*mem
		reg.mu.Lock()
		for _, m := range ms {
			m.holds--
			gone = append(gone, m.maybeDeleteLocked()...)
		}
		reg.mu.Unlock()
		memsGone(gone)
	}
}
