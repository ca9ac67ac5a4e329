package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"errors"
	"unsafe"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// The buffer commands: read, write, copy and fill, whole or as rectangles.
// Each resolves its queue, its buffers (of the queue's context) and its
// wait list, checks its region against the buffers, then queues runtime
// memory commands on the buffers' storage (see mem.go), holding the
// buffers until it ends.

// queueMems resolves an enqueue call's queue, buffers and wait list.
func queueMems(qh unsafe.Pointer, mhs []unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer) (*queue, []*mem, []*event, C.cl_int) {
	reg.mu.Lock()
	q := queueOfLocked(qh)
	if q == nil {
		reg.mu.Unlock()
		return nil, nil, nil, C.CL_INVALID_COMMAND_QUEUE
	}
	ms := make([]*mem, len(mhs))
	for i, h := range mhs {
		if ms[i] = memOfLocked(h); ms[i] == nil {
			reg.mu.Unlock()
			return nil, nil, nil, C.CL_INVALID_MEM_OBJECT
		}
		if ms[i].ctx != q.ctx {
			reg.mu.Unlock()
			return nil, nil, nil, C.CL_INVALID_CONTEXT
		}
	}
	reg.mu.Unlock()
	waits, code := waitList(q.ctx, n, list)
	if code != C.CL_SUCCESS {
		return nil, nil, nil, code
	}
	return q, ms, waits, C.CL_SUCCESS
}

// enqueueOn queues a command that uses buffers ms and, when blocking, waits
// for it.
func enqueueOn(q *queue, cmd C.cl_command_type, waits []*event, run func() error, blocking C.cl_bool, evOut *unsafe.Pointer, ms ...*mem) C.cl_int {
	c := &command{waits: waits, run: run, host: run == nil, after: holdMems(ms...)}
	e, code := q.enqueueCommand(c, cmd, evOut)
	if code != C.CL_SUCCESS {
		c.after()
		return code
	}
	if blocking == C.CL_FALSE {
		return C.CL_SUCCESS
	}
	return blockOn(e)
}

// inBounds reports whether [off, off+n) lies in a buffer of size size.
func inBounds(off, n, size uintptr) bool { return off <= size && n <= size-off }

// hostReads and hostWrites are whether the host may read or write m
// (CL_MEM_HOST_* flags).
func (m *mem) hostReads() bool {
	return m.flags&(C.CL_MEM_HOST_WRITE_ONLY|C.CL_MEM_HOST_NO_ACCESS) == 0
}
func (m *mem) hostWrites() bool {
	return m.flags&(C.CL_MEM_HOST_READ_ONLY|C.CL_MEM_HOST_NO_ACCESS) == 0
}

// memcpyRun is a command that copies n bytes from src to dst.
func memcpyRun(q *queue, dst, src unsafe.Pointer, n uintptr) func() error {
	dev := q.dev.dev
	return func() error { return copyMem(dev, dst, src, n) }
}

// copyMem copies n bytes from src to dst with the device's copy engine
// (runtime Memcpy: pages stay where they are), or, when dst is memory the
// runtime must not write on a device's behalf — the host program's stack,
// where a blocking read's array often is —, on the host after both sides'
// pages have come home. Anything else the runtime refuses (an unmapped or
// read-only address) is the command's error: the host never touches it.
func copyMem(dev *svmrt.Device, dst, src unsafe.Pointer, n uintptr) error {
	err := svm.CheckHostRange(dev.Name(), uintptr(dst), n, true)
	if err == nil {
		return waitDevice(dev.Memcpy(gocontext.Background(), dst, src, n))
	}
	if !errors.Is(err, svm.ErrNotSupported) {
		return err
	}
	if err := svm.CheckHostRange(dev.Name(), uintptr(src), n, false); err != nil {
		return err
	}
	if err := waitDevice(dev.Map(gocontext.Background(), src, n)); err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(dst), n), unsafe.Slice((*byte)(src), n))
	return nil
}

// svmrt_go_enqueue_rw is clEnqueueReadBuffer (write 0) and
// clEnqueueWriteBuffer (write 1).
//
//export svmrt_go_enqueue_rw
func svmrt_go_enqueue_rw(qh, mh unsafe.Pointer, write C.int, blocking C.cl_bool, off, size C.size_t, ptr unsafe.Pointer,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{mh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	m := ms[0]
	if ptr == nil || size == 0 || !inBounds(uintptr(off), uintptr(size), m.size) {
		return C.CL_INVALID_VALUE
	}
	buf := unsafe.Add(m.base, uintptr(off))
	cmd := C.cl_command_type(C.CL_COMMAND_READ_BUFFER)
	run := memcpyRun(q, ptr, buf, uintptr(size))
	if write != 0 {
		if !m.hostWrites() {
			return C.CL_INVALID_OPERATION
		}
		cmd, run = C.CL_COMMAND_WRITE_BUFFER, memcpyRun(q, buf, ptr, uintptr(size))
	} else if !m.hostReads() {
		return C.CL_INVALID_OPERATION
	}
	return enqueueOn(q, cmd, waits, run, blocking, evOut, m)
}

// overlap reports whether [a, a+n) and [b, b+m) share a byte.
func overlap(a, n, b, m uintptr) bool { return a < b+m && b < a+n }

//export svmrt_go_enqueue_copy
func svmrt_go_enqueue_copy(qh, sh, dh unsafe.Pointer, soff, doff, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{sh, dh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	s, d := ms[0], ms[1]
	if size == 0 || !inBounds(uintptr(soff), uintptr(size), s.size) || !inBounds(uintptr(doff), uintptr(size), d.size) {
		return C.CL_INVALID_VALUE
	}
	src, dst := unsafe.Add(s.base, uintptr(soff)), unsafe.Add(d.base, uintptr(doff))
	if overlap(uintptr(src), uintptr(size), uintptr(dst), uintptr(size)) {
		return C.CL_MEM_COPY_OVERLAP // the same buffer, or sub-buffers of one
	}
	return enqueueOn(q, C.CL_COMMAND_COPY_BUFFER, waits, memcpyRun(q, dst, src, uintptr(size)), C.CL_FALSE, evOut, s, d)
}

//export svmrt_go_enqueue_fill
func svmrt_go_enqueue_fill(qh, mh, pattern unsafe.Pointer, psize, off, size C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{mh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	m := ms[0]
	if pattern == nil || psize == 0 || psize&(psize-1) != 0 || psize > 128 || off%psize != 0 || size%psize != 0 ||
		!inBounds(uintptr(off), uintptr(size), m.size) {
		return C.CL_INVALID_VALUE
	}
	pat := C.GoBytes(pattern, C.int(psize))
	p := unsafe.Add(m.base, uintptr(off))
	dev := q.dev.dev
	var run func() error
	if size > 0 {
		run = func() error {
			err := svm.CheckHostRange(dev.Name(), uintptr(p), uintptr(size), true)
			if err == nil && uintptr(p)%uintptr(len(pat)) == 0 {
				return waitDevice(dev.Memfill(gocontext.Background(), p, pat, uintptr(size)))
			}
			if err != nil && !errors.Is(err, svm.ErrNotSupported) {
				return err
			}
			// Storage the application gave (CL_MEM_USE_HOST_PTR) need not
			// be aligned to the pattern, which the device's fill needs,
			// and may be its stack, which the device must not write: the
			// host fills it, after its pages come home.
			if err := waitDevice(dev.Map(gocontext.Background(), p, uintptr(size))); err != nil {
				return err
			}
			b := unsafe.Slice((*byte)(p), int(size))
			for i := 0; i < len(b); i += len(pat) {
				copy(b[i:], pat)
			}
			return nil
		}
	}
	return enqueueOn(q, C.CL_COMMAND_FILL_BUFFER, waits, run, C.CL_FALSE, evOut, m)
}

// rect is one side of a rectangular copy: its origin (bytes, rows,
// slices) and pitches.
type rect struct {
	origin     [3]uintptr
	row, slice uintptr
}

// pitches fills in a rectangle's default pitches for region and checks
// them (CL_INVALID_VALUE).
func (r *rect) pitches(region [3]uintptr) bool {
	if r.row == 0 {
		r.row = region[0]
	}
	if r.slice == 0 {
		r.slice = region[1] * r.row
	}
	return r.row >= region[0] && r.slice >= region[1]*r.row && r.slice%r.row == 0
}

// offset is the byte offset of the rectangle's origin.
func (r *rect) offset() uintptr { return r.origin[2]*r.slice + r.origin[1]*r.row + r.origin[0] }

// extent is one past the last byte the rectangle touches.
func (r *rect) extent(region [3]uintptr) uintptr {
	return r.offset() + (region[2]-1)*r.slice + (region[1]-1)*r.row + region[0]
}

// sizes3 reads three size_t (nil for NULL).
func sizes3(p *C.size_t) ([3]uintptr, bool) {
	if p == nil {
		return [3]uintptr{}, false
	}
	s := unsafe.Slice(p, 3)
	return [3]uintptr{uintptr(s[0]), uintptr(s[1]), uintptr(s[2])}, true
}

// rectArgs checks a rectangular command's origins, region and pitches.
func rectArgs(ao, bo, reg *C.size_t, arow, aslice, brow, bslice C.size_t) (a, b rect, region [3]uintptr, ok bool) {
	var ok1, ok2, ok3 bool
	a.origin, ok1 = sizes3(ao)
	b.origin, ok2 = sizes3(bo)
	region, ok3 = sizes3(reg)
	if !ok1 || !ok2 || !ok3 || region[0] == 0 || region[1] == 0 || region[2] == 0 {
		return a, b, region, false
	}
	a.row, a.slice, b.row, b.slice = uintptr(arow), uintptr(aslice), uintptr(brow), uintptr(bslice)
	if !a.pitches(region) || !b.pitches(region) {
		return a, b, region, false
	}
	return a, b, region, true
}

// rectRun copies region from the rectangle s at src to the rectangle d at
// dst, a row at a time.
func rectRun(q *queue, dst unsafe.Pointer, d rect, src unsafe.Pointer, s rect, region [3]uintptr) func() error {
	dev := q.dev.dev
	return func() error {
		for z := uintptr(0); z < region[2]; z++ {
			for y := uintptr(0); y < region[1]; y++ {
				to := unsafe.Add(dst, d.offset()+z*d.slice+y*d.row)
				from := unsafe.Add(src, s.offset()+z*s.slice+y*s.row)
				if err := copyMem(dev, to, from, region[0]); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// svmrt_go_enqueue_rw_rect is clEnqueueReadBufferRect (write 0) and
// clEnqueueWriteBufferRect (write 1).
//
//export svmrt_go_enqueue_rw_rect
func svmrt_go_enqueue_rw_rect(qh, mh unsafe.Pointer, write C.int, blocking C.cl_bool, bo, ho, region *C.size_t,
	brow, bslice, hrow, hslice C.size_t, ptr unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{mh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	m := ms[0]
	b, h, r, ok := rectArgs(bo, ho, region, brow, bslice, hrow, hslice)
	if !ok || ptr == nil || b.extent(r) > m.size {
		return C.CL_INVALID_VALUE
	}
	if write != 0 {
		if !m.hostWrites() {
			return C.CL_INVALID_OPERATION
		}
		return enqueueOn(q, C.CL_COMMAND_WRITE_BUFFER_RECT, waits, rectRun(q, m.base, b, ptr, h, r), blocking, evOut, m)
	}
	if !m.hostReads() {
		return C.CL_INVALID_OPERATION
	}
	return enqueueOn(q, C.CL_COMMAND_READ_BUFFER_RECT, waits, rectRun(q, ptr, h, m.base, b, r), blocking, evOut, m)
}

//export svmrt_go_enqueue_copy_rect
func svmrt_go_enqueue_copy_rect(qh, sh, dh unsafe.Pointer, so, dstOrigin, region *C.size_t, srow, sslice, drow, dslice C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer) C.cl_int {
	q, ms, waits, code := queueMems(qh, []unsafe.Pointer{sh, dh}, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	sm, dm := ms[0], ms[1]
	s, d, r, ok := rectArgs(so, dstOrigin, region, srow, sslice, drow, dslice)
	if !ok || s.extent(r) > sm.size || d.extent(r) > dm.size {
		return C.CL_INVALID_VALUE
	}
	if sm == dm {
		if s.row != d.row || s.slice != d.slice {
			return C.CL_INVALID_VALUE // the spec's rule for a copy within one buffer
		}
		// The same pitches: the rectangles overlap when their boxes do in
		// every dimension.
		if overlap(s.origin[0], r[0], d.origin[0], r[0]) && overlap(s.origin[1], r[1], d.origin[1], r[1]) &&
			overlap(s.origin[2], r[2], d.origin[2], r[2]) {
			return C.CL_MEM_COPY_OVERLAP
		}
	} else if overlap(uintptr(sm.base)+s.offset(), s.extent(r)-s.offset(), uintptr(dm.base)+d.offset(), d.extent(r)-d.offset()) {
		// Sub-buffers of one buffer whose spans meet: conservatively an
		// overlap (the runtime's copies must not overlap).
		return C.CL_MEM_COPY_OVERLAP
	}
	return enqueueOn(q, C.CL_COMMAND_COPY_BUFFER_RECT, waits, rectRun(q, dm.base, d, sm.base, s, r), C.CL_FALSE, evOut, sm, dm)
}
