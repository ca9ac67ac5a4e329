package opencl

/*
#include "clshim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// ErrClosed is returned by commands on a closed Device.
var ErrClosed = errors.New("opencl: device closed")

// Mode is how launches give a device the program's memory.
type Mode int

const (
	// ModeAuto probes: pass-through when the device has fine-grained system
	// SVM or is a CPU device whose probe kernel read and wrote a host
	// pointer; buffer mode otherwise.
	ModeAuto Mode = iota
	// ModePassThrough passes the program's raw pointers to kernels.
	ModePassThrough
	// ModeBuffer stages every range a launch names in SVM buffers (the
	// GMEM contract for devices that cannot fault).
	ModeBuffer
)

// String is "auto", "pass-through" or "buffer".
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModePassThrough:
		return "pass-through"
	case ModeBuffer:
		return "buffer"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Option configures Open.
type Option func(*options)

type options struct{ mode Mode }

// WithMode forces a mode instead of probing. Forcing ModePassThrough on a
// device that cannot access host memory gives wrong answers or crashes;
// it exists for devices the probe does not know. ModeBuffer works on every
// device with SVM buffers.
func WithMode(m Mode) Option { return func(o *options) { o.mode = m } }

// Device is one opened OpenCL device: an in-order command queue on the
// device's (shared) context. It is safe for concurrent use.
type Device struct {
	index int
	sh    *shared
	q     C.cl_command_queue // immutable after Open; released by Close

	mode    Mode   // ModePassThrough or ModeBuffer
	why     string // why this mode
	useExec bool   // pass CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM on pass-through launches

	mu       sync.Mutex // protects closed; held while adding to inflight
	closed   bool
	inflight sync.WaitGroup // commands that started and have not completed on the device

	launches, bytesIn, bytesOut, hostNs atomic.Int64
}

var _ interface {
	Name() string
	Launch(context.Context, *kernels.Kernel, kernels.NDRange, *kernels.Args) error
	Stats() svm.Stats
	Close() error
} = (*Device)(nil)

// Open opens device index of Devices() (every device of every platform,
// in platform order). Errors wrap ErrUnavailable when OpenCL is not usable
// here, svm.ErrNotSupported when the device lacks SVM altogether.
func Open(index int, opts ...Option) (*Device, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	devs, err := Devices()
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(devs) {
		return nil, fmt.Errorf("opencl: no device %d (this machine has %d: opencl:0..opencl:%d)", index, len(devs), len(devs)-1)
	}
	info := devs[index]
	if !info.SVM.CoarseBuffer && !info.SVM.FineBuffer && !info.SVM.FineSystem {
		return nil, fmt.Errorf("opencl: device %d (%s, %s) has no shared virtual memory (OpenCL 2.0 SVM): %w",
			index, info.Name, info.Version, svm.ErrNotSupported)
	}
	sh, err := sharedFor(info)
	if err != nil {
		return nil, fmt.Errorf("opencl: device %d (%s): %w", index, info.Name, err)
	}
	q, err := createQueue(sh.ctx, info.device)
	if err != nil {
		return nil, fmt.Errorf("opencl: device %d (%s): %w", index, info.Name, err)
	}
	d := &Device{index: index, sh: sh, q: q}
	pm, pwhy := sh.probe(q)
	switch o.mode {
	case ModeAuto:
		d.mode, d.why = pm, pwhy
	case ModeBuffer:
		d.mode, d.why = ModeBuffer, "forced by WithMode(ModeBuffer)"
	case ModePassThrough:
		d.mode, d.why = ModePassThrough, "forced by WithMode(ModePassThrough)"
	default:
		releaseQueue(q)
		return nil, fmt.Errorf("opencl: unknown mode %v", o.mode)
	}
	d.useExec = sh.execFineOK
	return d, nil
}

// Name is "opencl:N".
func (d *Device) Name() string { return fmt.Sprintf("opencl:%d", d.index) }

// Info is the device's discovery information.
func (d *Device) Info() DeviceInfo { return d.sh.info }

// Mode is the mode launches use, and ModeReason why.
func (d *Device) Mode() Mode { return d.mode }

// ModeReason says why the device uses its mode.
func (d *Device) ModeReason() string { return d.why }

// Caps describes the device to the runtime: in pass-through mode it
// accesses host memory directly (coherent); in buffer mode it works on
// staged copies. It never takes page faults, and pages never migrate into
// its memory.
func (d *Device) Caps() svm.Caps {
	return svm.Caps{Coherent: d.mode == ModePassThrough, PageSize: svm.PageSize}
}

// Describe is a one-line description: name, version, SVM, mode and why.
func (d *Device) Describe() string {
	i := d.sh.info
	notes := ""
	if d.sh.scopeOpt != "" {
		notes = "; memory_scope_all_svm_devices compiled as memory_scope_device"
	}
	return fmt.Sprintf("%s (%s, %s), %d compute units, %d MiB, SVM %v; mode %v: %s%s",
		i.Name, i.Platform, i.Version, i.ComputeUnits, i.GlobalMem>>20, i.SVM, d.mode, d.why, notes)
}

// Stats: Launches, BytesH2D/BytesD2H (bytes staged into and out of SVM
// buffers in buffer mode, and bytes copied by Copy), HostTime (wall time in
// Launch). The rest is zero: an OpenCL device reports no faults.
func (d *Device) Stats() svm.Stats {
	return svm.Stats{
		Launches: d.launches.Load(),
		BytesH2D: d.bytesIn.Load(),
		BytesD2H: d.bytesOut.Load(),
		HostTime: time.Duration(d.hostNs.Load()),
	}
}

// begin registers a command; end (called when the device is done with it,
// even after the caller stopped waiting) unregisters it.
func (d *Device) begin() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.inflight.Add(1)
	return nil
}

func (d *Device) end() { d.inflight.Done() }

// Close waits until every command the device started has completed (also
// those whose callers gave up waiting), then releases the queue. Programs
// stay cached for the process.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.inflight.Wait()
	err := finish(d.q)
	if rerr := releaseQueue(d.q); err == nil {
		err = rerr
	}
	return err
}

// Launch runs k over nd with a's arguments and waits for it.
//
// Everything that can be checked is checked before anything is enqueued:
// the NDRange (errors wrap kernels.ErrInvalidNDRange), the arguments
// against k (kernels.ErrBadArgs; also when the OpenCL source's arguments
// do not match k.Params), the program build (*BuildError), the memory the
// launch names (ErrDeviceFault / ErrPermission from svm, by the host's
// mappings), and in buffer mode the pointers it cannot stage
// (svm.ErrNotSupported). If ctx ends while the kernel runs, Launch returns
// ctx.Err(); the kernel still completes (its staging buffers are released
// then, and nothing is copied back).
func (d *Device) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	if k == nil {
		return fmt.Errorf("opencl: launch: %w: nil kernel", kernels.ErrBadArgs)
	}
	if err := d.begin(); err != nil {
		return err
	}
	start := time.Now()
	done := false
	defer func() {
		if !done {
			d.end()
		}
	}()
	wrap := func(err error) error { return fmt.Errorf("opencl: launch %s on %s: %w", k.Name, d.Name(), err) }
	if err := nd.Validate(); err != nil {
		return wrap(err)
	}
	if gs := nd.GroupSize(); d.sh.info.MaxWorkGroupSize > 0 && gs > d.sh.info.MaxWorkGroupSize {
		return wrap(fmt.Errorf("%w: work-group size %d exceeds the device's maximum %d", kernels.ErrInvalidNDRange, gs, d.sh.info.MaxWorkGroupSize))
	}
	if err := a.Check(k); err != nil {
		return wrap(err)
	}
	if k.Source == "" {
		return wrap(fmt.Errorf("kernel has no OpenCL C source: %w", svm.ErrNotSupported))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := d.sh.program(k)
	if err != nil {
		return wrap(err)
	}
	if err := checkSignature(k, p); err != nil {
		return wrap(err)
	}
	localBytes := 0
	if k.LocalBytes != nil {
		localBytes = k.LocalBytes(nd, a)
		if localBytes <= 0 || (d.sh.info.LocalMem > 0 && uint64(localBytes) > d.sh.info.LocalMem) {
			return wrap(fmt.Errorf("%w: %d bytes of local memory (the device has %d)", kernels.ErrInvalidNDRange, localBytes, d.sh.info.LocalMem))
		}
	}
	// Memory: validate (and in buffer mode stage) what the launch names.
	var st *staging
	ptrs := make([]uintptr, len(k.Params))
	if d.mode == ModeBuffer {
		st, err = d.stageIn(k, a)
		if err != nil {
			return wrap(err)
		}
		copy(ptrs, st.ptrs)
	} else {
		if err := checkHost(d.Name(), k, a); err != nil {
			return wrap(err)
		}
		for i, prm := range k.Params {
			if prm.Kind.IsPointer() {
				ptrs[i] = a.Ptr(i)
			}
		}
	}
	release := func() {
		if st != nil {
			st.free()
		}
	}

	kern, err := p.get(k.Name)
	if err != nil {
		release()
		return wrap(err)
	}
	ev, err := d.enqueueKernel(kern, k, nd, a, ptrs, localBytes, st)
	p.put(kern) // the enqueued launch captured its arguments
	if err != nil {
		release()
		return wrap(err)
	}
	d.launches.Add(1)

	// Wait. The completion work (copy back, free, end) runs when the
	// device is done, whether or not the caller still waits.
	result := make(chan error, 1)
	complete := func() {
		err := waitEvent(ev)
		releaseEvent(ev)
		if err == nil && st != nil {
			if cerr := ctx.Err(); cerr != nil {
				err = cerr // abandoned: nothing is copied back
			} else {
				err = d.stageOut(st)
			}
		}
		release()
		runtime.KeepAlive(a) // the device used the memory a's values name
		d.hostNs.Add(int64(time.Since(start)))
		d.end()
		result <- err
	}
	done = true
	if ctx.Done() == nil {
		complete()
		if err := <-result; err != nil {
			return wrap(err)
		}
		return nil
	}
	go complete()
	select {
	case err := <-result:
		if err != nil {
			return wrap(err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkSignature compares the compiled kernel's arguments with k.Params:
// the count (plus the trailing __local argument when k.LocalBytes is set)
// and, where the implementation reports them, the address spaces.
func checkSignature(k *kernels.Kernel, p *program) error {
	want := len(k.Params)
	if k.LocalBytes != nil {
		want++
	}
	if p.numArgs != want {
		extra := ""
		if k.LocalBytes != nil {
			extra = " + 1 trailing __local"
		}
		return fmt.Errorf("%w: the OpenCL source of %s takes %d arguments, its Params list %d%s",
			kernels.ErrBadArgs, k.Name, p.numArgs, len(k.Params), extra)
	}
	if p.quals == nil {
		return nil
	}
	for i, prm := range k.Params {
		q := p.quals[i]
		ptr := q == C.SVMRT_CL_KERNEL_ARG_ADDRESS_GLOBAL || q == C.SVMRT_CL_KERNEL_ARG_ADDRESS_CONSTANT
		if prm.Kind.IsPointer() != ptr {
			what := "a scalar"
			if prm.Kind.IsPointer() {
				what = "a __global pointer"
			}
			return fmt.Errorf("%w: kernel %s: param %d (%s) is %v but the OpenCL source's argument %d is not %s",
				kernels.ErrBadArgs, k.Name, i, prm.Name, prm.Kind, i, what)
		}
	}
	if k.LocalBytes != nil && p.quals[len(k.Params)] != C.SVMRT_CL_KERNEL_ARG_ADDRESS_LOCAL {
		return fmt.Errorf("%w: kernel %s has LocalBytes but the OpenCL source's last argument is not __local", kernels.ErrBadArgs, k.Name)
	}
	return nil
}

// enqueueKernel sets every argument of kern and enqueues the launch.
func (d *Device) enqueueKernel(kern C.cl_kernel, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args,
	ptrs []uintptr, localBytes int, st *staging) (C.cl_event, error) {
	for i, prm := range k.Params {
		var err error
		switch {
		case prm.Kind.IsPointer() && ptrs[i] == 0:
			err = check(fmt.Sprintf("clSetKernelArg(%d %s = NULL)", i, prm.Name), C.clshim_set_arg_null(kern, C.cl_uint(i)))
		case prm.Kind.IsPointer():
			err = check(fmt.Sprintf("clSetKernelArgSVMPointer(%d %s)", i, prm.Name), C.clshim_set_arg_svm(kern, C.cl_uint(i), C.uintptr_t(ptrs[i])))
		default:
			err = check(fmt.Sprintf("clSetKernelArg(%d %s)", i, prm.Name),
				C.clshim_set_arg_scalar(kern, C.cl_uint(i), C.size_t(prm.Kind.Size()), C.uint64_t(a.Words[i])))
		}
		if err != nil {
			return nil, err
		}
	}
	if k.LocalBytes != nil {
		if err := check("clSetKernelArg(__local)", C.clshim_set_arg_local(kern, C.cl_uint(len(k.Params)), C.size_t(localBytes))); err != nil {
			return nil, err
		}
	}
	if d.mode == ModePassThrough && d.useExec {
		if err := check("clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM)", C.clshim_exec_info_fine_system(kern, 1)); err != nil {
			return nil, err
		}
	}
	if st != nil && len(st.bufs) > 0 {
		list := make([]C.uintptr_t, len(st.bufs))
		for i, b := range st.bufs {
			list[i] = C.uintptr_t(b.svm)
		}
		if err := check("clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_PTRS)", C.clshim_exec_info_svm_ptrs(kern, &list[0], C.size_t(len(list)))); err != nil {
			return nil, err
		}
	}
	var global, local [3]C.size_t
	for i := 0; i < 3; i++ {
		global[i], local[i] = 1, 1
		if i < nd.Dims {
			global[i], local[i] = C.size_t(nd.Global[i]), C.size_t(nd.Local[i])
		}
	}
	var ev C.cl_event
	if err := check("clEnqueueNDRangeKernel", C.clshim_enqueue_ndrange(d.q, kern, C.cl_uint(nd.Dims), &global[0], &local[0], &ev)); err != nil {
		return nil, err
	}
	if err := flush(d.q); err != nil {
		// Enqueued: it will run; wait for it before reporting.
		waitEvent(ev)
		releaseEvent(ev)
		return nil, err
	}
	return ev, nil
}
