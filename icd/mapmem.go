package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"unsafe"
)

// Mapping and migrating buffers. A buffer's storage is host memory, so
// clEnqueueMapBuffer returns a pointer into the storage itself (for
// CL_MEM_USE_HOST_PTR, into the application's host_ptr, as the spec
// requires) and only brings its device-resident pages home (runtime Map),
// so the host's accesses take no fault; unmapping has nothing to write back
// and orders with the queue. The mapped pointers are counted per buffer
// (CL_MEM_MAP_COUNT), so unmapping a pointer that was not mapped is
// CL_INVALID_VALUE.

const mapFlags = C.CL_MAP_READ | C.CL_MAP_WRITE | C.CL_MAP_WRITE_INVALIDATE_REGION

//export svmrt_go_enqueue_map
func svmrt_go_enqueue_map(qh, mh unsafe.Pointer, blocking C.cl_bool, flags C.cl_map_flags, off, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{mh}, n, list)
	if code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	m := ms[0]
	if size == 0 || !inBounds(uintptr(off), uintptr(size), m.size) || flags&^mapFlags != 0 ||
		(flags&C.CL_MAP_WRITE_INVALIDATE_REGION != 0 && flags&(C.CL_MAP_READ|C.CL_MAP_WRITE) != 0) {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	if (flags&C.CL_MAP_READ != 0 && !m.hostReads()) ||
		(flags&(C.CL_MAP_WRITE|C.CL_MAP_WRITE_INVALIDATE_REGION) != 0 && !m.hostWrites()) {
		setErr(errRet, C.CL_INVALID_OPERATION)
		return nil
	}
	p := unsafe.Add(m.base, uintptr(off))
	dev := q.dev.dev
	run := func() error { return waitDevice(dev.Map(gocontext.Background(), p, uintptr(size))) }
	if code := enqueueOn(q, C.CL_COMMAND_MAP_BUFFER, waits, run, blocking, evOut, m); code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	reg.mu.Lock()
	if m.maps == nil {
		m.maps = map[uintptr]int{}
	}
	m.maps[uintptr(p)]++
	reg.mu.Unlock()
	setErr(errRet, C.CL_SUCCESS)
	return p
}

//export svmrt_go_enqueue_unmap
func svmrt_go_enqueue_unmap(qh, mh, p unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{mh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	m := ms[0]
	reg.mu.Lock()
	if m.maps[uintptr(p)] == 0 {
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE // not a pointer a map of m returned
	}
	m.maps[uintptr(p)]--
	if m.maps[uintptr(p)] == 0 {
		delete(m.maps, uintptr(p))
	}
	reg.mu.Unlock()
	return enqueueOn(q, C.CL_COMMAND_UNMAP_MEM_OBJECT, waits, nil, C.CL_FALSE, evOut, m)
}

//export svmrt_go_enqueue_migrate_mems
func svmrt_go_enqueue_migrate_mems(qh unsafe.Pointer, nm C.cl_uint, mhs *unsafe.Pointer, flags C.cl_mem_migration_flags,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	if nm == 0 || mhs == nil {
		if !valid(KindQueue, qh) {
			return C.CL_INVALID_COMMAND_QUEUE
		}
		return C.CL_INVALID_VALUE
	}
	q, ms, waits, code := queueMems(qh, unsafe.Slice(mhs, int(nm)), n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	if flags&^(C.CL_MIGRATE_MEM_OBJECT_HOST|C.CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) != 0 {
		return C.CL_INVALID_VALUE
	}
	toHost := flags&C.CL_MIGRATE_MEM_OBJECT_HOST != 0
	dev := q.dev.dev
	run := func() error {
		for _, m := range ms {
			if err := waitDevice(dev.MigrateMem(gocontext.Background(), m.base, m.size, toHost)); err != nil {
				return err
			}
		}
		return nil
	}
	return enqueueOn(q, C.CL_COMMAND_MIGRATE_MEM_OBJECTS, waits, run, C.CL_FALSE, evOut, ms...)
}
