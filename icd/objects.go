package icd

/*
#include "icd.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
)

// Kind is what a handle names. The values are icd.h's SVMRT_* constants.
type Kind int

const (
	KindPlatform Kind = C.SVMRT_PLATFORM
	KindDevice   Kind = C.SVMRT_DEVICE
	KindContext  Kind = C.SVMRT_CONTEXT
	KindQueue    Kind = C.SVMRT_QUEUE
	KindMem      Kind = C.SVMRT_MEM
	KindProgram  Kind = C.SVMRT_PROGRAM
	KindKernel   Kind = C.SVMRT_KERNEL
	KindEvent    Kind = C.SVMRT_EVENT
	KindSampler  Kind = C.SVMRT_SAMPLER
)

// invalid is the error code for a handle that is not a valid object of kind.
func (k Kind) invalid() C.cl_int {
	switch k {
	case KindPlatform:
		return C.CL_INVALID_PLATFORM
	case KindDevice:
		return C.CL_INVALID_DEVICE
	case KindContext:
		return C.CL_INVALID_CONTEXT
	case KindQueue:
		return C.CL_INVALID_COMMAND_QUEUE
	case KindMem:
		return C.CL_INVALID_MEM_OBJECT
	case KindProgram:
		return C.CL_INVALID_PROGRAM
	case KindKernel:
		return C.CL_INVALID_KERNEL
	case KindEvent:
		return C.CL_INVALID_EVENT
	case KindSampler:
		return C.CL_INVALID_SAMPLER
	}
	return C.CL_INVALID_VALUE
}

// object is anything a handle names.
type object interface{ kind() Kind }

// The registry: every live object by its handle. A handle is a small C
// allocation whose first word is the dispatch table (svmrt_icd_alloc). It is
// never freed: a released handle keeps its dispatch pointer, so a stale
// handle still reaches this library through the loader and is refused (its
// entry is gone from objs), and no later object ever gets the same address.
var reg struct {
	mu   sync.Mutex
	objs map[unsafe.Pointer]object
}

// newHandle registers o under a fresh handle. reg.mu must be held.
func newHandleLocked(o object) unsafe.Pointer {
	h := C.svmrt_icd_alloc()
	if h == nil {
		return nil
	}
	if reg.objs == nil {
		reg.objs = map[unsafe.Pointer]object{}
	}
	reg.objs[h] = o
	return h
}

// lookupLocked returns the object h names if it is of kind k. reg.mu must
// be held. It never dereferences h.
func lookupLocked(k Kind, h unsafe.Pointer) object {
	o, ok := reg.objs[h]
	if !ok || o.kind() != k {
		return nil
	}
	return o
}

// valid reports whether h is a live object of kind k.
func valid(k Kind, h unsafe.Pointer) bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if k == KindEvent {
		return eventOfLocked(h) != nil // released events wait in the registry for their command
	}
	return lookupLocked(k, h) != nil
}

// The platform and its one device. Both exist for the life of the process
// and are not reference-counted (root devices ignore retain and release).
type platform struct{ h unsafe.Pointer }

func (*platform) kind() Kind { return KindPlatform }

type device struct {
	h   unsafe.Pointer
	dev *svmrt.Device  // the simulated GPU
	sim *simgpu.Device // its backend, for the configuration queries
}

func (*device) kind() Kind { return KindDevice }

var (
	platformOnce sync.Once
	thePlatform  *platform

	deviceOnce sync.Once
	theDevice  *device // nil when the simulated GPU could not be opened
	deviceErr  error   // why not
)

// getPlatform returns the platform, creating its handle on first use.
func getPlatform() *platform {
	platformOnce.Do(func() {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		p := &platform{}
		p.h = newHandleLocked(p)
		thePlatform = p
	})
	return thePlatform
}

// VRAMEnv names the environment variable that sets the simulated GPU's
// memory size (bytes, or a whole number with KiB, MiB or GiB).
const VRAMEnv = "SVMRT_VRAM"

// VRAM is the simulated GPU's memory size the environment asks for
// (simgpu.DefaultVRAM when SVMRT_VRAM is unset).
func VRAM() (int64, error) {
	s, ok := os.LookupEnv(VRAMEnv)
	if !ok || s == "" {
		return simgpu.DefaultVRAM, nil
	}
	n, err := sample.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%s: %w", VRAMEnv, s, err)
	}
	return n, nil
}

// getDevice opens the simulated GPU on first use. When it cannot be opened
// the platform has no device (clGetDeviceIDs says CL_DEVICE_NOT_FOUND) and
// the reason is printed once on stderr: an ICD has no other channel for it.
func getDevice() *device {
	deviceOnce.Do(func() {
		p := getPlatform()
		if p.h == nil {
			deviceErr = fmt.Errorf("out of memory")
			return
		}
		vram, err := VRAM()
		if err == nil {
			var d *svmrt.Device
			d, err = svmrt.Open("simgpu", svmrt.WithVRAM(vram))
			if err == nil {
				sim, ok := d.Backend().(*simgpu.Device)
				if !ok {
					d.Close()
					err = fmt.Errorf("simgpu opened a %T", d.Backend())
				} else {
					reg.mu.Lock()
					dv := &device{dev: d, sim: sim}
					dv.h = newHandleLocked(dv)
					reg.mu.Unlock()
					if dv.h == nil {
						d.Close()
						err = fmt.Errorf("out of memory")
					} else {
						theDevice = dv
					}
				}
			}
		}
		if err != nil {
			deviceErr = err
			fmt.Fprintf(os.Stderr, "svmrt ICD: the simulated GPU is not available: %v\n", err)
		}
	})
	return theDevice
}

// context is a cl_context: its devices (the one device, at most), the
// properties it was created with, and its reference counts.
type context struct {
	h    unsafe.Pointer
	refs int // the application's references (CL_CONTEXT_REFERENCE_COUNT)
	// deps counts the objects that hold it (command-queues, programs, user
	// events): it is deleted when refs and deps are both 0.
	deps    int
	devices []*device
	props   []C.cl_context_properties // as given, with the terminating 0; nil when NULL was given
	// notify and userData: the error callback given at creation, called
	// with the runtime's message when a command fails on the device.
	notify, userData unsafe.Pointer
	destructors      []callback // clSetContextDestructorCallback, called last first
}

type callback struct{ fn, userData unsafe.Pointer }

func (*context) kind() Kind { return KindContext }

// notifyError tells the application why a command failed, through the
// context's notification callback (if it gave one).
func (c *context) notifyError(msg string) {
	if c.notify == nil {
		return
	}
	cs := C.CString(msg)
	defer C.free(unsafe.Pointer(cs))
	C.svmrt_icd_call_context_notify(c.notify, cs, c.userData)
}

// queue is a cl_command_queue. It holds its context until it is deleted.
type queue struct {
	h     unsafe.Pointer
	refs  int
	ctx   *context
	dev   *device
	props C.cl_command_queue_properties // CL_QUEUE_PROPERTIES
	// propsArray is what clCreateCommandQueueWithProperties was given, with
	// the terminating 0; nil for clCreateCommandQueue or a NULL list.
	propsArray []C.cl_queue_properties
	state      queueState // its commands (enqueue.go)
}

func (*queue) kind() Kind { return KindQueue }

// retain adds an application reference to an object.
func retain(k Kind, h unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	switch o := lookupLocked(k, h).(type) {
	case *context:
		o.refs++
	case *queue:
		o.refs++
	case *program:
		o.refs++
	case *kernel:
		o.refs++
	case *event:
		if o.refs == 0 {
			return k.invalid() // released, its command still running
		}
		o.refs++
	case *mem:
		o.refs++
	case *device:
		// A root device: retain and release do nothing.
	default:
		return k.invalid()
	}
	return C.CL_SUCCESS
}

// detachLocked drops one of the objects that hold c and returns c if that
// deleted it (nil otherwise). reg.mu must be held; the caller runs the
// destructor callbacks (destroyed) once it has let go of the lock.
func detachLocked(c *context) *context {
	c.deps--
	if c.refs == 0 && c.deps == 0 {
		delete(reg.objs, c.h)
		return c
	}
	return nil
}

// destroyed runs a deleted context's destructor callbacks, last registered
// first. It is called without reg.mu: a callback may call back into the
// library.
func destroyed(c *context) {
	if c == nil {
		return
	}
	for i := len(c.destructors) - 1; i >= 0; i-- {
		cb := c.destructors[i]
		C.svmrt_icd_call_context_destructor(cb.fn, c.h, cb.userData)
	}
}

// release drops an application reference; the object is deleted when
// nothing holds it any more (a context when its queues, programs and user
// events are gone too; a program when its kernels are gone too; an event
// when its command has completed too).
func release(k Kind, h unsafe.Pointer) C.cl_int {
	var gone *context
	var memGone []*mem
	reg.mu.Lock()
	switch o := lookupLocked(k, h).(type) {
	case *mem:
		memGone = releaseMemLocked(o)
	case *context:
		if o.refs == 0 {
			reg.mu.Unlock()
			return k.invalid()
		}
		o.refs--
		if o.refs == 0 && o.deps == 0 {
			delete(reg.objs, o.h)
			gone = o
		}
	case *queue:
		o.refs--
		if o.refs == 0 {
			delete(reg.objs, o.h)
			o.released()
			gone = detachLocked(o.ctx)
		}
	case *program:
		if o.refs == 0 {
			reg.mu.Unlock()
			return k.invalid()
		}
		o.refs--
		gone = o.maybeDeleteLocked()
	case *kernel:
		o.refs--
		if o.refs == 0 {
			delete(reg.objs, o.h)
			o.prog.kernels--
			gone = o.prog.maybeDeleteLocked()
		}
	case *event:
		if o.refs == 0 {
			// Released, its command still running: the handle is gone
			// for the application.
			reg.mu.Unlock()
			return k.invalid()
		}
		o.refs--
		gone = o.maybeDeleteLocked()
	case *device:
	default:
		reg.mu.Unlock()
		return k.invalid()
	}
	reg.mu.Unlock()
	memsGone(memGone)
	destroyed(gone)
	return C.CL_SUCCESS
}
