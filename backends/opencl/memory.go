package opencl

/*
#include "clshim.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Host-memory validation and buffer-mode staging.

// span is host memory a command touches.
type span struct {
	start, len uintptr
	write      bool
	what       string // for errors: "param 0 (y)"
}

// checkSpans checks, against the process's mappings as they are now, that
// every span is mapped and readable (and writable when it is written).
// OpenCL devices run on threads the Go runtime cannot recover a fault on
// (a PoCL worker touching PROT_NONE memory would stop and lose the device), so what a
// command names is checked before it is enqueued; the error is the one a
// mirroring device reports: *svm.FaultError wrapping svm.ErrDeviceFault or
// svm.ErrPermission, naming the first bad address.
//
// How far a kernel goes through a pointer, and memory it reaches through
// pointers it loads, cannot be checked here: a fault there is caught when
// it happens (kernelfault.go) and loses the device.
func checkSpans(dev string, spans []span) error {
	if len(spans) == 0 {
		return nil
	}
	m := mapsPool.Get().(*hostMaps)
	defer mapsPool.Put(m)
	if err := m.read(); err != nil {
		return err
	}
	for _, s := range spans {
		end := s.start + max(s.len, 1)
		if end < s.start {
			return &svm.FaultError{Device: dev, Addr: s.start, Write: s.write, Reason: s.what + ": range wraps around the address space", Err: svm.ErrDeviceFault}
		}
		for a := s.start; a < end; {
			v, ok := m.find(a)
			switch {
			case !ok:
				return &svm.FaultError{Device: dev, Addr: a, Write: s.write, Reason: s.what + ": address not mapped", Err: svm.ErrDeviceFault}
			case !v.read || v.special:
				return &svm.FaultError{Device: dev, Addr: a, Write: s.write, Reason: fmt.Sprintf("%s: mapping %s is not accessible", s.what, m.line(v)), Err: svm.ErrDeviceFault}
			case s.write && !v.write:
				return &svm.FaultError{Device: dev, Addr: a, Write: true, Reason: fmt.Sprintf("%s: mapping %s is read-only", s.what, m.line(v)), Err: svm.ErrPermission}
			}
			a = v.end
		}
	}
	return nil
}

// hostMaps is /proc/self/maps, parsed without allocating per line (it is
// read before every command, so it must be cheap: svm.ReadMaps builds
// strings for every mapping).
type hostMaps struct {
	buf  []byte
	vmas []hostVMA
}

type hostVMA struct {
	start, end  uintptr
	read, write bool
	special     bool // [vdso], [vvar], [vsyscall]: not device accessible
	off, n      int  // the line in buf
}

var mapsPool = sync.Pool{New: func() any { return &hostMaps{buf: make([]byte, 64<<10)} }}

func (m *hostMaps) read() error {
	fd, err := syscall.Open("/proc/self/maps", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opencl: open /proc/self/maps: %w", err)
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(m.buf) {
			m.buf = append(m.buf, make([]byte, len(m.buf))...)
		}
		k, err := syscall.Read(fd, m.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("opencl: read /proc/self/maps: %w", err)
		}
		if k == 0 {
			break
		}
		n += k
	}
	m.vmas = m.vmas[:0]
	data := m.buf[:n]
	for off := 0; off < len(data); {
		eol := bytes.IndexByte(data[off:], '\n')
		if eol < 0 {
			eol = len(data) - off
		}
		line := data[off : off+eol]
		if v, ok := parseVMA(line); ok {
			v.off, v.n = off, eol
			m.vmas = append(m.vmas, v)
		}
		off += eol + 1
	}
	return nil
}

// parseVMA reads "start-end perms ..." and the path's special names.
func parseVMA(line []byte) (hostVMA, bool) {
	var v hostVMA
	i := 0
	hex := func() (uintptr, bool) {
		var x uintptr
		j := i
		for ; i < len(line); i++ {
			c := line[i]
			switch {
			case c >= '0' && c <= '9':
				x = x<<4 | uintptr(c-'0')
			case c >= 'a' && c <= 'f':
				x = x<<4 | uintptr(c-'a'+10)
			default:
				return x, i > j
			}
		}
		return x, i > j
	}
	var ok bool
	if v.start, ok = hex(); !ok || i >= len(line) || line[i] != '-' {
		return v, false
	}
	i++
	if v.end, ok = hex(); !ok || i+5 > len(line) {
		return v, false
	}
	v.read, v.write = line[i+1] == 'r', line[i+2] == 'w'
	v.special = bytes.HasSuffix(line, []byte("[vdso]")) || bytes.HasSuffix(line, []byte("[vvar]")) ||
		bytes.HasSuffix(line, []byte("[vsyscall]")) || bytes.HasSuffix(line, []byte("[vvar_vclock]"))
	return v, true
}

// find returns the mapping containing a.
func (m *hostMaps) find(a uintptr) (hostVMA, bool) {
	i := sort.Search(len(m.vmas), func(i int) bool { return m.vmas[i].end > a })
	if i < len(m.vmas) && m.vmas[i].start <= a {
		return m.vmas[i], true
	}
	return hostVMA{}, false
}

func (m *hostMaps) line(v hostVMA) string {
	return strings.Join(strings.Fields(string(m.buf[v.off:v.off+v.n])), " ")
}

// checkHost validates what a pass-through launch names: each pointer
// argument's range (or, for a pointer of unknown extent, the byte it points
// at).
//
// A NULL pointer argument is refused too (ErrDeviceFault naming the
// parameter): the kernel runs on the OpenCL implementation's own threads,
// where dereferencing it would stop the thread and lose the device (see
// kernelfault.go); the other devices fail just the launch.
func checkHost(dev string, k *kernels.Kernel, a *kernels.Args) error {
	var spans []span
	for i, p := range k.Params {
		if !p.Kind.IsPointer() {
			continue
		}
		if a.Words[i] == 0 {
			return &svm.FaultError{Device: dev, Addr: 0, Write: p.Written,
				Reason: fmt.Sprintf("kernel %s param %d (%s): NULL pointer (a fault on the OpenCL device's threads would lose the device)", k.Name, i, p.Name),
				Err:    svm.ErrDeviceFault}
		}
		s := span{start: a.Ptr(i), len: 1, write: p.Written, what: fmt.Sprintf("kernel %s param %d (%s)", k.Name, i, p.Name)}
		if i < len(a.Ranges) && a.Ranges[i].Len > 0 {
			s.start, s.len = a.Ranges[i].Start, a.Ranges[i].Len
		}
		spans = append(spans, s)
	}
	return checkSpans(dev, spans)
}

// staging is a buffer-mode launch's SVM buffers.
type staging struct {
	d    *Device
	bufs []*stagedBuf
	ptrs []uintptr // per parameter: the device address to pass (0 for scalars and NULL)
	// copyEv is the event of the last copy-in (nil when nothing was
	// copied). The copies are enqueued without blocking, behind whatever
	// the in-order queue already holds; on that queue the last one
	// completing means all have. The buffers must not be freed before it
	// completes.
	copyEv C.cl_event
}

// stagedBuf is one SVM allocation holding the host interval [start,
// start+len) at svm, which keeps start's alignment modulo 128 bytes (so
// pointers into the interval keep theirs).
//
// On a CPU device (whose SVM buffers are host memory) the allocation has
// room for a guard: the data ends less than 128 bytes before a page
// boundary, and the pages after it are PROT_NONE while the buffer lives. A
// kernel that runs past its argument's range then faults there (see
// kernelfault.go) instead of reading or writing the implementation's heap
// next to the buffer; an overrun of less than 128 bytes stays in the
// buffer's own slack (read as whatever is there, written and not copied
// back). The guard is as long as the launch could plausibly reach past the
// data (guardLen): 16 bytes per work-item of the NDRange, at least the
// data's own length and a page, at most 1 GiB — address space only, its
// pages are never touched. An overrun beyond it, or before the data,
// is not caught. On other devices the buffer is the device's memory: what
// an overrun does there is the device's affair.
type stagedBuf struct {
	start, len uintptr
	writes     []kernels.Range // the Written parameters' ranges in it, merged, by address
	alloc      uintptr         // what clSVMAlloc returned
	size       uintptr         // how many bytes it allocated
	svm        uintptr         // where start lives on the device (svm ≡ start mod 128)
	guard      uintptr         // the PROT_NONE pages after the data, 0 if none
	guardLen   uintptr
}

// guardLen is how long a staged buffer's guard is for a launch of
// workItems work-items (see stagedBuf).
func guardLen(dataLen uintptr, workItems uint64) uintptr {
	page := uintptr(syscall.Getpagesize())
	n := max(dataLen, page)
	if w := workItems * 16; w > uint64(n) {
		n = uintptr(min(w, 1<<30))
	}
	return (n + page - 1) &^ (page - 1)
}

// place allocates b's buffer and places the data in it (followed by a
// guard of guard bytes, a multiple of the page size, unless 0); false if
// clSVMAlloc failed.
func (b *stagedBuf) place(ctx C.cl_context, flags C.cl_bitfield, guard uintptr) bool {
	if guard == 0 {
		pad := b.start & 127
		b.size = b.len + pad
		if b.alloc = svmAlloc(ctx, flags, b.size); b.alloc == 0 {
			return false
		}
		b.svm = b.alloc + pad
		return true
	}
	page := uintptr(syscall.Getpagesize())
	b.size = b.len + 128 + page + guard
	if b.alloc = svmAlloc(ctx, flags, b.size); b.alloc == 0 {
		return false
	}
	// g, the first page boundary at least 128 bytes past alloc+len, and
	// the guard after it lie inside the allocation; the data ends at most
	// 127 bytes before g and starts after alloc.
	g := (b.alloc + 128 + b.len + page - 1) &^ (page - 1)
	s := g - b.len
	b.svm = s - ((s - b.start) & 127)
	if _, _, e := syscall.Syscall(syscall.SYS_MPROTECT, g, guard, syscall.PROT_NONE); e == 0 {
		b.guard, b.guardLen = g, guard
	}
	return true
}

// release frees b's buffer (after every command using it completed).
func (b *stagedBuf) release(ctx C.cl_context) {
	if b.guard != 0 {
		syscall.Syscall(syscall.SYS_MPROTECT, b.guard, b.guardLen, syscall.PROT_READ|syscall.PROT_WRITE)
		b.guard = 0
	}
	svmFree(ctx, b.alloc)
	b.alloc = 0
}

// stageIn makes the ranges a launch names device-visible: it merges
// overlapping ranges (two parameters naming the same or overlapping memory
// share one buffer, so the kernel sees one consistent copy), allocates an
// SVM buffer per merged range, enqueues the copies of the host data in
// without waiting for them (st.copyEv: the caller waits for it together
// with its ctx, so a launch behind a long kernel still sees its ctx end),
// and computes each
// pointer argument's device address (offset preserved). Pointers it cannot
// stage — of unknown extent, or into memory that may hold pointers the
// kernel follows — are svm.ErrNotSupported, before anything is enqueued.
func (d *Device) stageIn(k *kernels.Kernel, a *kernels.Args, workItems uint64) (*staging, error) {
	st := &staging{d: d, ptrs: make([]uintptr, len(k.Params))}
	type ref struct {
		param int
		r     kernels.Range
	}
	var refs []ref
	for i, p := range k.Params {
		if !p.Kind.IsPointer() {
			continue
		}
		if a.Words[i] == 0 {
			// As in pass-through mode (checkHost): a kernel dereferencing
			// it would fault on the implementation's threads and lose the
			// device.
			return nil, &svm.FaultError{Device: d.Name(), Addr: 0, Write: p.Written,
				Reason: fmt.Sprintf("kernel %s param %d (%s): NULL pointer (a fault on the OpenCL device's threads would lose the device)", k.Name, i, p.Name),
				Err:    svm.ErrDeviceFault}
		}
		var r kernels.Range
		if i < len(a.Ranges) {
			r = a.Ranges[i]
		}
		if r.Len == 0 {
			// A bad address is a fault whatever the mode: say that first.
			if err := checkSpans(d.Name(), []span{{start: a.Ptr(i), len: 1, write: p.Written, what: fmt.Sprintf("kernel %s param %d (%s)", k.Name, i, p.Name)}}); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: kernel %s param %d (%s): a pointer of unknown extent (unsafe.Pointer or uintptr) cannot be staged on %s, which cannot access host memory (mode buffer: %s); pass a slice or a pointer to an object",
				svm.ErrNotSupported, k.Name, i, p.Name, d.Name(), d.why)
		}
		if p.Kind == kernels.PtrAny && mayHoldPointers(a, i) {
			return nil, fmt.Errorf("%w: kernel %s param %d (%s): the memory it names (%T) may hold pointers the kernel follows into memory the launch does not name; %s cannot access host memory (mode buffer: %s)",
				svm.ErrNotSupported, k.Name, i, p.Name, keep(a, i), d.Name(), d.why)
		}
		if w := a.Ptr(i); w < r.Start || w >= r.End() {
			return nil, fmt.Errorf("%w: kernel %s param %d (%s): address %#x outside its range %#x..%#x", kernels.ErrBadArgs, k.Name, i, p.Name, w, r.Start, r.End())
		}
		r.Written = p.Written
		refs = append(refs, ref{i, r})
	}
	// Merge overlapping ranges.
	order := make([]int, len(refs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return refs[order[x]].r.Start < refs[order[y]].r.Start })
	var spans []span
	bufOf := make([]int, len(refs))
	for _, ri := range order {
		r := refs[ri].r
		if n := len(st.bufs); n > 0 && r.Start < st.bufs[n-1].start+st.bufs[n-1].len {
			b := st.bufs[n-1]
			b.len = max(b.len, r.End()-b.start)
		} else {
			st.bufs = append(st.bufs, &stagedBuf{start: r.Start, len: r.Len})
		}
		bufOf[ri] = len(st.bufs) - 1
	}
	// Only the Written parameters' own ranges are copied back (and must be
	// writable): a read-only parameter overlapping a written one shares its
	// buffer but not its copy-back.
	for _, ri := range order {
		r := refs[ri].r
		if !r.Written {
			continue
		}
		b := st.bufs[bufOf[ri]]
		if n := len(b.writes); n > 0 && r.Start <= b.writes[n-1].End() {
			w := &b.writes[n-1]
			w.Len = max(w.End(), r.End()) - w.Start
		} else {
			b.writes = append(b.writes, kernels.Range{Start: r.Start, Len: r.Len, Written: true})
		}
	}
	// Each parameter's own range, so the error names it (together they
	// cover every merged buffer and every range copied back).
	for _, rf := range refs {
		p := k.Params[rf.param]
		spans = append(spans, span{start: rf.r.Start, len: rf.r.Len, write: p.Written, what: fmt.Sprintf("kernel %s param %d (%s)", k.Name, rf.param, p.Name)})
	}
	if err := checkSpans(d.Name(), spans); err != nil {
		return nil, err
	}
	flags := C.cl_bitfield(C.SVMRT_CL_MEM_READ_WRITE)
	if d.sh.info.SVM.FineBuffer {
		flags |= C.SVMRT_CL_MEM_SVM_FINE_GRAIN_BUFFER
	}
	for _, b := range st.bufs {
		var guard uintptr
		if d.sh.info.Type == "cpu" {
			guard = guardLen(b.len, workItems)
		}
		if !b.place(d.sh.ctx, flags, guard) {
			st.abort()
			if !hasEntry("clSVMAlloc") {
				return nil, &CLError{Call: "clSVMAlloc", Missing: true}
			}
			return nil, fmt.Errorf("opencl: clSVMAlloc of %d bytes failed on %s: %w", b.size, d.Name(), svm.ErrOutOfDeviceMemory)
		}
		var ev C.cl_event
		if err := check("clEnqueueSVMMemcpy(host to SVM buffer)", C.clshim_svm_memcpy(d.q, 0, C.uintptr_t(b.svm), C.uintptr_t(b.start), C.size_t(b.len), &ev)); err != nil {
			st.abort()
			return nil, err
		}
		releaseEvent(st.copyEv)
		st.copyEv = ev
		d.bytesIn.Add(int64(b.len))
	}
	for j, rf := range refs {
		b := st.bufs[bufOf[j]]
		st.ptrs[rf.param] = b.svm + (a.Ptr(rf.param) - b.start)
	}
	return st, nil
}

// stageOut copies the ranges of the Written parameters back to the host
// (and nothing else of the buffers they are in).
func (d *Device) stageOut(st *staging) error {
	for _, b := range st.bufs {
		for _, w := range b.writes {
			if err := check("clEnqueueSVMMemcpy(SVM buffer to host)", C.clshim_svm_memcpy(d.q, 1, C.uintptr_t(w.Start), C.uintptr_t(b.svm+(w.Start-b.start)), C.size_t(w.Len), nil)); err != nil {
				return err
			}
			d.bytesOut.Add(int64(w.Len))
		}
	}
	return nil
}

// abort waits for the copies already enqueued, then frees the buffers.
func (st *staging) abort() {
	if st.copyEv != nil {
		waitEvent(st.copyEv)
		releaseEvent(st.copyEv)
		st.copyEv = nil
	}
	st.free()
}

// free releases the buffers (after the commands using them completed).
func (st *staging) free() {
	for _, b := range st.bufs {
		b.release(st.d.sh.ctx)
	}
}

func keep(a *kernels.Args, i int) any {
	if i < len(a.Keep) {
		return a.Keep[i]
	}
	return nil
}

// mayHoldPointers reports whether the memory PtrAny argument i names could
// contain pointers: its Go element type has pointers (or uintptrs, which
// may be addresses), or the Args do not say what it is.
func mayHoldPointers(a *kernels.Args, i int) bool {
	v := keep(a, i)
	if v == nil {
		return true
	}
	t := reflect.TypeOf(v)
	switch t.Kind() {
	case reflect.Slice, reflect.Pointer:
		return kernels.HoldsAddresses(t.Elem())
	}
	return true
}
