package opencl

/*
#include "kernelfault.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Kernel faults on the OpenCL implementation's threads (see kernelfault.c
// for the handler and why it stops the faulting thread).
//
// A launch checks the memory its arguments name, but not how far the kernel
// goes through them: a pointer into a 1-page mapping that the kernel indexes
// 4 pages deep faults on a PoCL worker thread. The handler stops that thread
// and tells the Go side (a byte on a pipe), which then:
//   - fails the faulting launch with a *svm.FaultError (svm.ErrDeviceFault)
//     naming the kernel, the argument whose memory the access ran past, and
//     the host address (in buffer mode, the host address the staged buffer's
//     address stands for), joined with ErrDeviceLost;
//   - marks the process's OpenCL devices lost: every command waiting for
//     the device returns ErrDeviceLost at once, and every later Open,
//     launch and memory command is ErrDeviceLost before anything is
//     enqueued (the stopped thread's command never completes, and the
//     implementation has lost a worker; svmrt cannot tell which device's
//     queue that worker served). Close returns ErrDeviceLost instead of
//     waiting for commands that cannot complete.
//
// The process and its data survive: the kernel touched nothing past the
// first fault on the stopped thread. What the kernel wrote before it
// faulted stays written (pass-through mode writes host memory directly);
// in buffer mode nothing is copied back.

// ErrDeviceLost is the error of every command on an OpenCL device after a
// kernel faulted on the implementation's threads (see Launch).
var ErrDeviceLost = errors.New("opencl: device lost")

// kernelFault is one fault the handler recorded.
type kernelFault struct {
	addr, pc uintptr
	write    int // 1 write, 0 read, -1 unknown
	tid      int // the stopped thread
	sig      syscall.Signal
	object   string // the kernel's code object's file name (PoCL: <kernel>.so)
}

// kernel is the faulting kernel's name, as far as the code object says.
func (f *kernelFault) kernel() string { return strings.TrimSuffix(f.object, ".so") }

func (f *kernelFault) access() string {
	switch f.write {
	case 1:
		return "write"
	case 0:
		return "read"
	}
	return "access"
}

var faults struct {
	install sync.Once
	err     error
	mu      sync.Mutex
	first   *kernelFault  // the first fault; set before lost is closed
	all     []kernelFault // every recorded fault, in order
	lost    chan struct{}
}

func init() { faults.lost = make(chan struct{}) }

// installFaultHandler puts kernelfault.c's handler in front of the Go
// runtime's SIGSEGV and SIGBUS handlers, once per process, and starts the goroutine
// that reads its pipe. Open calls it after the implementation is loaded.
// The signal guard (clshim.c) keeps it in place across PoCL's calls: it is
// a function of the program's binary, not of another shared object.
func installFaultHandler() error {
	faults.install.Do(func() {
		fd, err := C.kf_install()
		if fd < 0 {
			faults.err = fmt.Errorf("opencl: install the handler for kernel faults on the implementation's threads: %v", err)
			return
		}
		// The pipe is non-blocking: os.NewFile gives it to the poller.
		go watchFaults(os.NewFile(uintptr(fd), "svmrt-opencl-kernel-faults"))
	})
	return faults.err
}

func watchFaults(f *os.File) {
	b := make([]byte, 64)
	for {
		n, err := f.Read(b)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return // the pipe is never closed
		}
		if n > 0 {
			collectFaults()
		}
	}
}

func collectFaults() {
	faults.mu.Lock()
	defer faults.mu.Unlock()
	for i := len(faults.all); i < int(C.kf_count()); i++ {
		var r C.struct_kf_fault
		if C.kf_get(C.int(i), &r) == 0 {
			break // not filled in yet, or beyond the table: the next byte comes
		}
		faults.all = append(faults.all, kernelFault{addr: uintptr(r.addr), pc: uintptr(r.pc), write: int(r.write), tid: int(r.tid), sig: syscall.Signal(r.sig),
			object: C.GoString(&r.kernel[0])})
	}
	if faults.first == nil && len(faults.all) > 0 {
		faults.first = &faults.all[0]
		close(faults.lost)
	}
}

// lostFault is the first kernel fault, nil while there was none.
func lostFault() *kernelFault {
	select {
	case <-faults.lost:
		return faults.first
	default:
		return nil
	}
}

// lostError is the error of a command on a lost device.
func lostError(dev string) error {
	f := lostFault()
	if f == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: kernel %s faulted (%s at %#x, instruction %#x) on the OpenCL implementation's thread %d, which is stopped for good; the device cannot complete commands any more (open it in a new process)",
		ErrDeviceLost, dev, f.kernel(), f.access(), f.addr, f.pc, f.tid)
}

// kernelFaultError is the error of launch (k, a) when the device was lost
// while it ran: the fault, attributed to the argument whose memory the
// access ran past, when the faulting kernel is k; else lost.
func (d *Device) kernelFaultError(k *kernels.Kernel, a *kernels.Args, st *staging, lost error) error {
	f := lostFault()
	if f == nil || f.kernel() != k.Name {
		return lost
	}
	host, reason := f.addr, ""
	if st != nil {
		host, reason = st.attribute(k, a, f)
	} else {
		reason = attributeHost(k, a, f)
	}
	fe := &svm.FaultError{Device: d.Name(), Addr: host, Write: f.write == 1, Reason: reason, Err: svm.ErrDeviceFault}
	return fmt.Errorf("%w; %w: the OpenCL implementation's thread %d that ran it is stopped for good, and with it the device (every later command fails)", fe, ErrDeviceLost, f.tid)
}

// attributeHost names the pass-through argument whose mapping f.addr lies
// past: of the pointer arguments' mappings that end at or before it, the
// nearest.
func attributeHost(k *kernels.Kernel, a *kernels.Args, f *kernelFault) string {
	m := mapsPool.Get().(*hostMaps)
	defer mapsPool.Put(m)
	if err := m.read(); err != nil {
		return fmt.Sprintf("kernel %s touched an inaccessible address (%v)", k.Name, err)
	}
	what := "address not mapped"
	v, mapped := m.find(f.addr)
	switch {
	case mapped && f.sig == syscall.SIGBUS:
		what = "SIGBUS in mapping " + m.line(v) + ": past the end of the file it maps"
	case mapped:
		what = "mapping " + m.line(v) + " is not accessible"
	}
	// An argument whose own mapping the address is in (a file mapping
	// longer than its file): the range it names is shorter than what the
	// kernel accessed.
	for i, p := range k.Params {
		if !mapped || !p.Kind.IsPointer() || i >= len(a.Words) || a.Words[i] == 0 {
			continue
		}
		if av, ok := m.find(a.Ptr(i)); ok && av.start == v.start && f.addr >= a.Ptr(i) {
			return fmt.Sprintf("kernel %s param %d (%s): %s %d bytes past the address the argument holds: the kernel accesses more than the argument holds (%s)",
				k.Name, i, p.Name, f.access(), f.addr-a.Ptr(i), what)
		}
	}
	best, bestEnd := -1, uintptr(0)
	for i, p := range k.Params {
		if !p.Kind.IsPointer() || i >= len(a.Words) || a.Words[i] == 0 {
			continue
		}
		v, ok := m.find(a.Ptr(i))
		if !ok || v.end > f.addr {
			continue
		}
		if best < 0 || v.end > bestEnd {
			best, bestEnd = i, v.end
		}
	}
	if best < 0 {
		return fmt.Sprintf("kernel %s: %s (past none of its pointer arguments' mappings: an address the kernel computed or loaded)", k.Name, what)
	}
	return fmt.Sprintf("kernel %s param %d (%s): %s %s of the mapping the argument points into (%#x): the kernel accesses more than the argument holds (%s)",
		k.Name, best, k.Params[best].Name, f.access(), pastEnd(f.addr-bestEnd), bestEnd, what)
}

func pastEnd(n uintptr) string {
	if n == 0 {
		return "just past the end"
	}
	return fmt.Sprintf("%d bytes past the end", n)
}

// attribute maps a fault on a staged buffer (its guard page, past the
// staged data) back to the host address it stands for and the argument.
func (st *staging) attribute(k *kernels.Kernel, a *kernels.Args, f *kernelFault) (uintptr, string) {
	for _, b := range st.bufs {
		if f.addr < b.svm || f.addr >= b.alloc+b.size {
			continue
		}
		best := -1
		for i, p := range k.Params {
			if !p.Kind.IsPointer() || st.ptrs[i] < b.svm || st.ptrs[i] >= b.svm+b.len {
				continue
			}
			if best < 0 || a.Ranges[i].End() > a.Ranges[best].End() {
				best = i
			}
		}
		host := b.start + (f.addr - b.svm)
		if best < 0 {
			return host, fmt.Sprintf("kernel %s: %s past the staged range %#x..%#x (device address %#x)", k.Name, f.access(), b.start, b.start+b.len, f.addr)
		}
		r := a.Ranges[best]
		return host, fmt.Sprintf("kernel %s param %d (%s): %s %s of the %d-byte range %#x..%#x the launch names (device address %#x, in the staged buffer's guard): the kernel accesses more than the argument holds",
			k.Name, best, k.Params[best].Name, f.access(), pastEnd(host-r.End()), r.Len, r.Start, r.End(), f.addr)
	}
	return f.addr, fmt.Sprintf("kernel %s: %s at device address %#x, in no buffer the launch staged", k.Name, f.access(), f.addr)
}

// faultHandlers returns the kernel-fault handler's address and that of
// the handler it forwards every other sig (SIGSEGV or SIGBUS) to.
func faultHandlers(sig syscall.Signal) (handler, forward uintptr) {
	return uintptr(C.kf_handler_addr()), uintptr(C.kf_forward_addr(C.int(sig)))
}

// kfBegin and kfEnd bracket a kernel in flight (the handler only looks at
// faults while one is).
func kfBegin() { C.kf_begin() }
func kfEnd()   { C.kf_end() }
