package icd

/*
#include "icd.h"
#include <stdlib.h>
*/
import "C"

import (
	gocontext "context"
	"sort"
	"sync"
	"syscall"
	"unsafe"
)

// Shared virtual memory. The device has fine-grained system SVM: every
// address of the process is valid in a kernel, clSVMAlloc's or malloc's
// alike, and the simulated GPU migrates pages on its faults (package svm).
// clSVMAlloc therefore only has to give aligned memory the device can
// migrate: a private anonymous mapping of its own (page-aligned, so any
// alignment the spec allows holds), kept in svmAllocs so clSVMFree and a
// whole-allocation clEnqueueSVMMigrateMem know its size.
//
// The SVM commands run on the device through the runtime (Memcpy, Memfill,
// Map, MigrateMem): pages on the device are copied there, not faulted home
// first. clEnqueueSVMUnmap has nothing to write back (fine-grained) and
// only orders with the queue.

var svmAllocs struct {
	mu sync.Mutex
	m  map[uintptr][]byte // start → the mapping
}

// svmFlags are the flags clSVMAlloc accepts.
const svmFlags = C.CL_MEM_READ_WRITE | C.CL_MEM_WRITE_ONLY | C.CL_MEM_READ_ONLY |
	C.CL_MEM_SVM_FINE_GRAIN_BUFFER | C.CL_MEM_SVM_ATOMICS

//export svmrt_go_svm_alloc
func svmrt_go_svm_alloc(ch unsafe.Pointer, flags C.cl_svm_mem_flags, size C.size_t, align C.cl_uint) unsafe.Pointer {
	reg.mu.Lock()
	c := contextOfLocked(ch)
	reg.mu.Unlock()
	if c == nil || len(c.devices) == 0 {
		return nil
	}
	if flags&^svmFlags != 0 {
		return nil
	}
	access := flags & (C.CL_MEM_READ_WRITE | C.CL_MEM_WRITE_ONLY | C.CL_MEM_READ_ONLY)
	if access&(access-1) != 0 { // more than one access flag
		return nil
	}
	if flags&C.CL_MEM_SVM_ATOMICS != 0 && flags&C.CL_MEM_SVM_FINE_GRAIN_BUFFER == 0 {
		return nil
	}
	// The alignment: 0 (the largest data type's, 128 bytes) or a power of
	// two no larger than the largest data type (long16).
	if align&(align-1) != 0 || align > memBaseAddrAlign/8 {
		return nil
	}
	mem := uint64(c.devices[0].dev.Info().Caps.MemoryBytes)
	if size == 0 || uint64(size) > mem {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	svmAllocs.mu.Lock()
	if svmAllocs.m == nil {
		svmAllocs.m = map[uintptr][]byte{}
	}
	svmAllocs.m[uintptr(p)] = b
	svmAllocs.mu.Unlock()
	return p
}

// svmFree unmaps an allocation clSVMAlloc made; other pointers (NULL, or
// memory clSVMAlloc did not return) are left alone.
func svmFree(p unsafe.Pointer) {
	svmAllocs.mu.Lock()
	b, ok := svmAllocs.m[uintptr(p)]
	delete(svmAllocs.m, uintptr(p))
	svmAllocs.mu.Unlock()
	if ok {
		syscall.Munmap(b)
	}
}

//export svmrt_go_svm_free
func svmrt_go_svm_free(ch, p unsafe.Pointer) {
	if !valid(KindContext, ch) {
		return
	}
	svmFree(p)
}

// svmExtent is the clSVMAlloc allocation that holds p: its start and size.
func svmExtent(p uintptr) (uintptr, uintptr, bool) {
	svmAllocs.mu.Lock()
	defer svmAllocs.mu.Unlock()
	starts := make([]uintptr, 0, len(svmAllocs.m))
	for s := range svmAllocs.m {
		starts = append(starts, s)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	i := sort.Search(len(starts), func(i int) bool { return starts[i] > p }) - 1
	if i < 0 {
		return 0, 0, false
	}
	s := starts[i]
	n := uintptr(len(svmAllocs.m[s]))
	if p >= s+n {
		return 0, 0, false
	}
	return s, n, true
}

//export svmrt_go_enqueue_svm_free
func svmrt_go_enqueue_svm_free(qh unsafe.Pointer, np C.cl_uint, ps *unsafe.Pointer, fn, userData unsafe.Pointer,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if (np == 0) != (ps == nil) {
		return C.CL_INVALID_VALUE
	}
	// The callback gets an array of its own: the caller may reuse theirs
	// once the call returns.
	var arr *unsafe.Pointer
	if np > 0 {
		arr = (*unsafe.Pointer)(C.malloc(C.size_t(np) * C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
		if arr == nil {
			return C.CL_OUT_OF_HOST_MEMORY
		}
		copy(unsafe.Slice(arr, int(np)), unsafe.Slice(ps, int(np)))
	}
	qhandle := q.h
	run := func() error {
		if fn != nil {
			C.svmrt_icd_call_svm_free(fn, qhandle, np, unsafe.Pointer(arr), userData)
		} else {
			for _, p := range unsafe.Slice(arr, int(np)) {
				svmFree(p)
			}
		}
		C.free(unsafe.Pointer(arr))
		return nil
	}
	_, code = q.enqueueCommand(&command{waits: waits, run: run, host: true}, C.CL_COMMAND_SVM_FREE, evOut)
	if code != C.CL_SUCCESS {
		C.free(unsafe.Pointer(arr))
	}
	return code
}

// enqueueBlocking queues run and, when blocking, waits for it.
func enqueueBlocking(q *queue, cmd C.cl_command_type, waits []*event, run func() error, blocking C.cl_bool, evOut *unsafe.Pointer) C.cl_int {
	e, code := q.enqueue(cmd, waits, run, evOut)
	if code != C.CL_SUCCESS || blocking == C.CL_FALSE {
		return code
	}
	return blockOn(e)
}

//export svmrt_go_enqueue_svm_memcpy
func svmrt_go_enqueue_svm_memcpy(qh unsafe.Pointer, blocking C.cl_bool, dst, src unsafe.Pointer, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if dst == nil || src == nil {
		return C.CL_INVALID_VALUE
	}
	d, s, sz := uintptr(dst), uintptr(src), uintptr(size)
	if d < s+sz && s < d+sz {
		return C.CL_MEM_COPY_OVERLAP
	}
	dev := q.dev.dev
	var run func() error
	if size > 0 {
		run = func() error { return waitDevice(dev.Memcpy(gocontext.Background(), dst, src, sz)) }
	}
	return enqueueBlocking(q, C.CL_COMMAND_SVM_MEMCPY, waits, run, blocking, evOut)
}

//export svmrt_go_enqueue_svm_fill
func svmrt_go_enqueue_svm_fill(qh, p, pattern unsafe.Pointer, psize, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	// The pattern: 1, 2, 4, ..., 128 bytes (the largest data type); the
	// memory aligned to it and a whole number of patterns.
	if p == nil || pattern == nil || psize == 0 || psize&(psize-1) != 0 || psize > 128 ||
		uintptr(p)%uintptr(psize) != 0 || size%psize != 0 {
		return C.CL_INVALID_VALUE
	}
	pat := C.GoBytes(pattern, C.int(psize))
	dev := q.dev.dev
	var run func() error
	if size > 0 {
		run = func() error { return waitDevice(dev.Memfill(gocontext.Background(), p, pat, uintptr(size))) }
	}
	_, code = q.enqueue(C.CL_COMMAND_SVM_MEMFILL, waits, run, evOut)
	return code
}

//export svmrt_go_enqueue_svm_map
func svmrt_go_enqueue_svm_map(qh unsafe.Pointer, blocking C.cl_bool, flags C.cl_map_flags, p unsafe.Pointer, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if p == nil || size == 0 {
		return C.CL_INVALID_VALUE
	}
	if flags&^(C.CL_MAP_READ|C.CL_MAP_WRITE|C.CL_MAP_WRITE_INVALIDATE_REGION) != 0 ||
		(flags&C.CL_MAP_WRITE_INVALIDATE_REGION != 0 && flags&(C.CL_MAP_READ|C.CL_MAP_WRITE) != 0) {
		return C.CL_INVALID_VALUE
	}
	// The host may touch the memory at any time (fine-grained): mapping
	// brings device-resident pages home ahead of the host's accesses, so
	// they take no fault.
	dev := q.dev.dev
	run := func() error { return waitDevice(dev.Map(gocontext.Background(), p, uintptr(size))) }
	return enqueueBlocking(q, C.CL_COMMAND_SVM_MAP, waits, run, blocking, evOut)
}

//export svmrt_go_enqueue_svm_unmap
func svmrt_go_enqueue_svm_unmap(qh, p unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if p == nil {
		return C.CL_INVALID_VALUE
	}
	_, code = q.enqueue(C.CL_COMMAND_SVM_UNMAP, waits, nil, evOut)
	return code
}

//export svmrt_go_enqueue_svm_migrate
func svmrt_go_enqueue_svm_migrate(qh unsafe.Pointer, np C.cl_uint, ps *unsafe.Pointer, szs *C.size_t, flags C.cl_mem_migration_flags,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if np == 0 || ps == nil {
		return C.CL_INVALID_VALUE
	}
	if flags&^(C.CL_MIGRATE_MEM_OBJECT_HOST|C.CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) != 0 {
		return C.CL_INVALID_VALUE
	}
	type span struct {
		p unsafe.Pointer
		n uintptr
	}
	var spans []span
	pl := unsafe.Slice(ps, int(np))
	var sl []C.size_t
	if szs != nil {
		sl = unsafe.Slice(szs, int(np))
	}
	for i, p := range pl {
		if p == nil {
			return C.CL_INVALID_VALUE
		}
		if sl == nil || sl[i] == 0 {
			// The whole allocation that holds p: only clSVMAlloc's have
			// a known extent.
			s, sz, ok := svmExtent(uintptr(p))
			if !ok {
				return C.CL_INVALID_VALUE
			}
			spans = append(spans, span{p, s + sz - uintptr(p)})
		} else {
			spans = append(spans, span{p, uintptr(sl[i])})
		}
	}
	toHost := flags&C.CL_MIGRATE_MEM_OBJECT_HOST != 0
	dev := q.dev.dev
	run := func() error {
		for _, s := range spans {
			if err := waitDevice(dev.MigrateMem(gocontext.Background(), s.p, s.n, toHost)); err != nil {
				return err
			}
		}
		return nil
	}
	_, code = q.enqueue(C.CL_COMMAND_SVM_MIGRATE_MEM, waits, run, evOut)
	return code
}
