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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// ErrNoDevice is wrapped by Open's error for an index this machine has no
// device for.
var ErrNoDevice = errors.New("opencl: no such device")

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

type options struct {
	mode         Mode
	closeTimeout time.Duration
}

// WithCloseTimeout sets how long Close waits for commands still running
// on the device before it gives up with ErrCloseTimeout (default
// DefaultCloseTimeout).
func WithCloseTimeout(t time.Duration) Option { return func(o *options) { o.closeTimeout = t } }

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
	running  atomic.Int64   // the same count, for Close's error

	closeTimeout time.Duration
	released     chan struct{} // closed once Close has released the queue
	releaseErr   error         // set before released is closed
	// closeReported is set by the Close that returned the release's
	// result: every Close after it is ErrClosed.
	closeReported atomic.Bool

	launches, bytesIn, bytesOut, hostNs atomic.Int64
}

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
		return nil, fmt.Errorf("%w %d (this machine has %d: opencl:0..opencl:%d)", ErrNoDevice, index, len(devs), len(devs)-1)
	}
	info := devs[index]
	if !info.SVM.CoarseBuffer && !info.SVM.FineBuffer && !info.SVM.FineSystem {
		return nil, fmt.Errorf("opencl: device %d (%s, %s) has no shared virtual memory (OpenCL 2.0 SVM): %w",
			index, info.Name, info.Version, svm.ErrNotSupported)
	}
	if err := lostError(fmt.Sprintf("opencl:%d", index)); err != nil {
		return nil, err
	}
	sh, err := sharedFor(info)
	if err != nil {
		return nil, fmt.Errorf("opencl: device %d (%s): %w", index, info.Name, err)
	}
	if err := installFaultHandler(); err != nil {
		return nil, err
	}
	q, err := createQueue(sh.ctx, info.device)
	if err != nil {
		return nil, fmt.Errorf("opencl: device %d (%s): %w", index, info.Name, err)
	}
	d := &Device{index: index, sh: sh, q: q, closeTimeout: o.closeTimeout, released: make(chan struct{})}
	if d.closeTimeout <= 0 {
		d.closeTimeout = DefaultCloseTimeout
	}
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

// DeviceInfo is the device's discovery information.
func (d *Device) DeviceInfo() DeviceInfo { return d.sh.info }

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

// begin registers a command; end (called when the device is done with it,
// even after the caller stopped waiting) unregisters it.
func (d *Device) begin() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return svm.ErrClosed
	}
	if err := lostError(d.Name()); err != nil {
		return err
	}
	d.inflight.Add(1)
	d.running.Add(1)
	return nil
}

func (d *Device) end() {
	d.running.Add(-1)
	d.inflight.Done()
}

// ErrCloseTimeout is returned by Close when commands the device started are
// still running after the close timeout (see WithCloseTimeout).
var ErrCloseTimeout = errors.New("opencl: close timed out")

// DefaultCloseTimeout is how long Close waits for running commands unless
// WithCloseTimeout says otherwise.
const DefaultCloseTimeout = 30 * time.Second

// Close waits until every command the device started has completed (also
// those whose callers gave up waiting), then releases the queue. Programs
// stay cached for the process. OpenCL cannot abort a running kernel: if
// commands are still running after the close timeout (a kernel spinning on
// memory nobody will write, say), Close returns an error wrapping
// ErrCloseTimeout instead of blocking forever, and the queue is released
// when they complete. Every later Close waits again, up to the timeout,
// and keeps returning ErrCloseTimeout until the device is fully released;
// then it returns nil (or the error of releasing the queue). Done is
// closed at that point. A Close after the one that returned that result is
// an error wrapping svm.ErrClosed, as is every command on a closed device.
// On a lost device (ErrDeviceLost, see Launch) Close returns that error at
// once: commands waiting for the stopped thread never complete.
func (d *Device) Close() error {
	if d.closeReported.Load() {
		return fmt.Errorf("opencl: close %s: %w", d.Name(), svm.ErrClosed)
	}
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		go func() {
			d.inflight.Wait()
			err := finish(d.q)
			if rerr := releaseQueue(d.q); err == nil {
				err = rerr
			}
			d.releaseErr = err
			close(d.released)
		}()
	}
	d.mu.Unlock()
	timer := time.NewTimer(d.closeTimeout)
	defer timer.Stop()
	select {
	case <-d.released:
		return d.reportRelease()
	case <-faults.lost:
		select {
		case <-d.released:
			return d.reportRelease()
		default:
		}
		// Commands of the device may be waiting for the stopped thread:
		// they never complete, nor does the release.
		return fmt.Errorf("opencl: close %s: %w", d.Name(), lostError(d.Name()))
	case <-timer.C:
		return fmt.Errorf("opencl: close %s: %d command(s) still running on the device after %v (OpenCL cannot abort a kernel; the queue is released when they complete): %w",
			d.Name(), d.running.Load(), d.closeTimeout, ErrCloseTimeout)
	}
}

// reportRelease is the result of the Close that first sees the device
// released; a Close after that one is ErrClosed.
func (d *Device) reportRelease() error {
	if !d.closeReported.CompareAndSwap(false, true) {
		return fmt.Errorf("opencl: close %s: %w", d.Name(), svm.ErrClosed)
	}
	return d.releaseErr
}

// Done is closed once the device is fully released after Close: every
// command it started has completed and its queue is released. (A Close
// that returned ErrCloseTimeout leaves that to happen later.)
func (d *Device) Done() <-chan struct{} { return d.released }

// completion is the end of one enqueued command, shared by the goroutine
// that waits for the device and the caller, who may stop waiting when its
// context ends. state decides, once, which of the two wins: the device side
// moves it from pending to finishing before it writes anything to host
// memory after the command (a buffer-mode copy-back), the caller moves it
// from pending to abandoned when it gives up. So either the caller returns
// ctx.Err() and nothing is written to host memory afterwards, or the
// copy-back has started and the caller waits for it and returns its result.
type completion struct {
	state  atomic.Int32
	result chan error
}

const (
	pending int32 = iota
	finishing
	abandoned
)

func newCompletion() *completion { return &completion{result: make(chan error, 1)} }

// claim is the device side's decision: true if it may finish (copy back),
// false if the caller has abandoned the command.
func (c *completion) claim() bool {
	return c.state.CompareAndSwap(pending, finishing) || c.state.Load() == finishing
}

// await waits for the result or for ctx, or until the device is lost (a
// kernel faulted on the implementation's threads: commands may never
// complete). A result that is ready wins over a cancellation or loss that
// is ready at the same time. On loss it returns an error wrapping
// ErrDeviceLost and false, also when the device side has started
// finishing (its copy-back waits on a queue that may never run it).
func (c *completion) await(ctx context.Context, dev string) (error, bool) {
	lost := false
	select {
	case err := <-c.result:
		return err, true
	case <-ctx.Done():
	case <-faults.lost:
		lost = true
	}
	select {
	case err := <-c.result:
		return err, true
	default:
	}
	if lost {
		c.state.CompareAndSwap(pending, abandoned)
		return lostError(dev), false
	}
	if c.state.CompareAndSwap(pending, abandoned) {
		return ctx.Err(), false
	}
	select {
	case err := <-c.result: // finishing: wait for it
		return err, true
	case <-faults.lost:
		return lostError(dev), false
	}
}

// Launch runs k over nd with a's arguments and waits for it.
//
// Everything that can be checked is checked before anything is enqueued:
// ctx (an ended ctx enqueues nothing and returns ctx.Err()), the NDRange
// (errors wrap kernels.ErrInvalidNDRange, also for a work-group larger than
// the device's, its per-dimension limits or the compiled kernel's
// CL_KERNEL_WORK_GROUP_SIZE), the arguments against k (kernels.ErrBadArgs;
// also when the OpenCL source's arguments do not match k.Params in count,
// address space or type), the program build (*BuildError), the memory the
// launch names (ErrDeviceFault / ErrPermission from svm, by the host's
// mappings), and in buffer mode the pointers it cannot stage
// (svm.ErrNotSupported).
//
// If ctx ends while the kernel runs, Launch returns ctx.Err() unless the
// command has already completed (then its result). In buffer mode the
// decision is clean: either the copy-back of the Written ranges has
// started, and Launch waits for it and returns its result, or it is
// abandoned, Launch returns ctx.Err(), and nothing is written to host
// memory afterwards. The kernel itself still completes on the device (in
// pass-through mode it writes host memory until it does); its staging
// buffers are freed then.
func (d *Device) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	if k == nil {
		return fmt.Errorf("opencl: launch: %w: nil kernel", kernels.ErrBadArgs)
	}
	if nd.Offset != [3]int{} {
		return fmt.Errorf("opencl: launch %s: %w: a global work offset is not passed on to the OpenCL device", k.Name, kernels.ErrInvalidNDRange)
	}
	if err := ctx.Err(); err != nil {
		return err
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
	if err := d.checkGroup(nd, 0); err != nil {
		return wrap(err)
	}
	if err := a.Check(k); err != nil {
		return wrap(err)
	}
	if k.Source == "" {
		return wrap(fmt.Errorf("kernel has no OpenCL C source: %w", svm.ErrNotSupported))
	}
	p, err := d.sh.program(k)
	if err != nil {
		return wrap(err)
	}
	if err := checkSignature(k, p); err != nil {
		return wrap(err)
	}
	if err := d.checkGroup(nd, p.wgSize); err != nil {
		return wrap(fmt.Errorf("kernel %s: %w", k.Name, err))
	}
	if r := p.reqdWG; r != [3]int{} {
		got := [3]int{1, 1, 1}
		for i := 0; i < nd.Dims; i++ {
			got[i] = nd.Local[i]
		}
		if got != r {
			return wrap(fmt.Errorf("%w: kernel %s: work-group %v, but its source requires reqd_work_group_size%v (CL_KERNEL_COMPILE_WORK_GROUP_SIZE)",
				kernels.ErrInvalidNDRange, k.Name, got, r))
		}
	}
	localBytes := 0
	if k.LocalBytes != nil {
		localBytes = k.LocalBytes(nd, a)
		if localBytes <= 0 || (d.sh.info.LocalMem > 0 && uint64(localBytes) > d.sh.info.LocalMem) {
			return wrap(fmt.Errorf("%w: %d bytes of local memory (the device has %d)", kernels.ErrInvalidNDRange, localBytes, d.sh.info.LocalMem))
		}
	}
	// __local pointer parameters (kernels from kernels.Compile): their
	// sizes add up against the device's local memory.
	argLocal := uint64(localBytes)
	for i, prm := range k.Params {
		if prm.Kind != kernels.LocalMem {
			continue
		}
		if a.Words[i] == 0 {
			return wrap(fmt.Errorf("%w: kernel %s: __local parameter %s needs a size > 0 bytes", kernels.ErrBadArgs, k.Name, prm.Name))
		}
		argLocal += a.Words[i]
	}
	if lm := d.sh.info.LocalMem; lm > 0 && argLocal > lm {
		return wrap(fmt.Errorf("kernel %s asks for %d bytes of local memory per work-group; the device has %d: %w",
			k.Name, argLocal, lm, svm.ErrOutOfDeviceMemory))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Memory: validate (and in buffer mode stage) what the launch names.
	var st *staging
	ptrs := make([]uintptr, len(k.Params))
	if d.mode == ModeBuffer {
		st, err = d.stageIn(k, a, uint64(nd.GlobalSize()))
		if err != nil {
			return wrap(err)
		}
		copy(ptrs, st.ptrs)
		// The copies in wait behind every command already queued (an
		// earlier, abandoned kernel may run for seconds): wait for them
		// together with ctx.
		if st.copyEv != nil {
			err, abandoned := d.awaitCopyIn(ctx, st, a)
			if abandoned {
				done = true // the copy's completion frees the buffers and ends the command
				return err
			}
			if err != nil {
				st.free()
				return wrap(err)
			}
		}
		if err := ctx.Err(); err != nil {
			st.free() // the copies have completed; nothing else was enqueued
			return err
		}
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
	kfBegin() // a fault in the kernel from now on stops its thread (kernelfault.go)
	ev, err := d.enqueueKernel(kern, k, nd, a, ptrs, localBytes, st)
	p.put(kern) // the enqueued launch captured its arguments
	if err != nil {
		kfEnd()
		release()
		return wrap(err)
	}
	d.launches.Add(1)

	// Wait. The completion work (copy back, free, end) runs when the
	// device is done, whether or not the caller still waits.
	done = true
	var out func() error
	if st != nil {
		out = func() error { return d.stageOut(st) }
	}
	err, completed := d.awaitEvent(ctx, ev, out, func() {
		kfEnd()
		release()
		runtime.KeepAlive(a) // the device used the memory a's values name
		d.hostNs.Add(int64(time.Since(start)))
	})
	if !completed {
		if errors.Is(err, ErrDeviceLost) {
			return wrap(d.kernelFaultError(k, a, st, err))
		}
		return err
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

// awaitEvent waits for ev (enqueued and flushed) or for ctx, for a launch
// or a memory command. When the event completes, out — the step that
// writes host memory (a buffer-mode copy-back) — runs if the caller has
// not abandoned the command (if it has, out is skipped: see completion),
// then after runs and the command ends (d.end), whether or not the caller
// still waits. It returns the result and whether the caller waited for it
// (false: ctx ended first, err is ctx.Err()).
func (d *Device) awaitEvent(ctx context.Context, ev C.cl_event, out func() error, after func()) (error, bool) {
	c := newCompletion()
	complete := func() {
		err := waitEvent(ev)
		releaseEvent(ev)
		if err == nil && out != nil {
			if c.claim() {
				err = out()
			} else {
				err = context.Canceled // abandoned: nothing is written (the caller has returned)
			}
		}
		if after != nil {
			after()
		}
		d.end()
		c.result <- err
	}
	// On its own goroutine even without a ctx that can end: the device may
	// be lost while it runs (see await).
	go complete()
	return c.await(ctx, d.Name())
}

// awaitCopyIn flushes the queue and waits for st's copies in or for ctx.
// If ctx ends first, it returns ctx.Err() and abandoned: the copies stay
// queued (they cannot be recalled), and when they complete the buffers are
// freed, a is released and the command ends (d.end); no kernel is enqueued
// and nothing is written to host memory. Otherwise it returns the copies'
// result, and the caller owns st again.
func (d *Device) awaitCopyIn(ctx context.Context, st *staging, a *kernels.Args) (err error, abandoned bool) {
	ev := st.copyEv
	st.copyEv = nil
	if err := flush(d.q); err != nil {
		waitEvent(ev)
		releaseEvent(ev)
		return err, false
	}
	c := newCompletion()
	wait := func() {
		err := waitEvent(ev)
		releaseEvent(ev)
		if c.claim() {
			c.result <- err
			return
		}
		// Abandoned: the caller has returned ctx.Err().
		st.free()
		runtime.KeepAlive(a) // the copies read the memory a's values name
		d.end()
	}
	go wait()
	err, completed := c.await(ctx, d.Name())
	return err, !completed
}

// checkGroup checks nd's work-group against the device's limits
// (CL_DEVICE_MAX_WORK_GROUP_SIZE, CL_DEVICE_MAX_WORK_ITEM_SIZES) and, when
// kernelMax > 0, the compiled kernel's CL_KERNEL_WORK_GROUP_SIZE:
// kernels.ErrInvalidNDRange before anything is enqueued (OpenCL would say
// CL_INVALID_WORK_GROUP_SIZE or CL_INVALID_WORK_ITEM_SIZE).
func (d *Device) checkGroup(nd kernels.NDRange, kernelMax int) error {
	gs := nd.GroupSize()
	if kernelMax > 0 {
		if gs > kernelMax {
			return fmt.Errorf("%w: work-group size %d exceeds the kernel's maximum on %s (CL_KERNEL_WORK_GROUP_SIZE %d)", kernels.ErrInvalidNDRange, gs, d.Name(), kernelMax)
		}
		return nil
	}
	if m := d.sh.info.MaxWorkGroupSize; m > 0 && gs > m {
		return fmt.Errorf("%w: work-group size %d exceeds the device's maximum %d", kernels.ErrInvalidNDRange, gs, m)
	}
	for i := 0; i < nd.Dims && i < len(d.sh.info.MaxWorkItemSizes); i++ {
		if m := d.sh.info.MaxWorkItemSizes[i]; m > 0 && nd.Local[i] > m {
			return fmt.Errorf("%w: work-group extent %d in dimension %d exceeds the device's maximum %d (CL_DEVICE_MAX_WORK_ITEM_SIZES %v)",
				kernels.ErrInvalidNDRange, nd.Local[i], i, m, d.sh.info.MaxWorkItemSizes)
		}
	}
	return nil
}

// checkSignature compares the compiled kernel's arguments with k.Params:
// the count (plus the trailing __local argument when k.LocalBytes is set)
// and, where the implementation reports them (programs are built with
// -cl-kernel-arg-info), each argument's address space and type
// (CL_KERNEL_ARG_TYPE_NAME): a scalar Kind must be a private argument of
// exactly its OpenCL type (F32 float, I32 int, U32 uint, I64 long, U64
// ulong), a typed pointer Kind a __global or __constant pointer to its
// element type (PtrF32 float, PtrI32 int, PtrU32 uint, PtrU8 uchar or
// char, their atomic_ types, or their vector types <elem>N with N 2, 3, 4,
// 8 or 16), PtrAny any __global or __constant pointer. Any
// mismatch is kernels.ErrBadArgs naming the parameter, before anything is
// enqueued: a mismatched scalar would otherwise be CL_INVALID_ARG_SIZE at
// best and a garbage value at worst (a float's bits read as an int).
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
	argName := func(i int) string {
		if p.names != nil && p.names[i] != "" {
			return fmt.Sprintf("argument %d (%s)", i, p.names[i])
		}
		return fmt.Sprintf("argument %d", i)
	}
	for i, prm := range k.Params {
		if prm.Kind == kernels.LocalMem || prm.Kind == kernels.Value {
			want, what := C.cl_uint(C.SVMRT_CL_KERNEL_ARG_ADDRESS_LOCAL), "a __local pointer"
			if prm.Kind == kernels.Value {
				want, what = C.SVMRT_CL_KERNEL_ARG_ADDRESS_PRIVATE, "passed by value"
			}
			if p.quals != nil && p.quals[i] != want {
				return fmt.Errorf("%w: kernel %s: param %d (%s) is %s but the OpenCL source's %s is %s",
					kernels.ErrBadArgs, k.Name, i, prm.Name, what, argName(i), addressName(p.quals[i]))
			}
			continue
		}
		if p.quals != nil {
			q := p.quals[i]
			global := q == C.SVMRT_CL_KERNEL_ARG_ADDRESS_GLOBAL || q == C.SVMRT_CL_KERNEL_ARG_ADDRESS_CONSTANT
			switch {
			case prm.Kind.IsPointer() && !global:
				return fmt.Errorf("%w: kernel %s: param %d (%s) is %v but the OpenCL source's %s is %s, not a __global pointer",
					kernels.ErrBadArgs, k.Name, i, prm.Name, prm.Kind, argName(i), addressName(q))
			case !prm.Kind.IsPointer() && q != C.SVMRT_CL_KERNEL_ARG_ADDRESS_PRIVATE:
				return fmt.Errorf("%w: kernel %s: param %d (%s) is the scalar %v but the OpenCL source's %s is a %s pointer",
					kernels.ErrBadArgs, k.Name, i, prm.Name, prm.Kind, argName(i), addressName(q))
			}
		}
		// A kernels.Compile kernel's Params were read from this same
		// source's metadata (typedef names such as size_t included), so
		// its types match by construction.
		if p.types != nil && k.Program() == nil {
			got := strings.ReplaceAll(p.types[i], " ", "")
			if ok, want := typeMatches(prm.Kind, got); !ok {
				return fmt.Errorf("%w: kernel %s: param %d (%s) is %v (OpenCL %s) but the OpenCL source's %s is %q",
					kernels.ErrBadArgs, k.Name, i, prm.Name, prm.Kind, want, argName(i), p.types[i])
			}
		}
	}
	if k.LocalBytes != nil && p.quals != nil && p.quals[len(k.Params)] != C.SVMRT_CL_KERNEL_ARG_ADDRESS_LOCAL {
		return fmt.Errorf("%w: kernel %s has LocalBytes but the OpenCL source's last %s is %s, not __local",
			kernels.ErrBadArgs, k.Name, argName(len(k.Params)), addressName(p.quals[len(k.Params)]))
	}
	return nil
}

// addressName names an address qualifier for errors.
func addressName(q C.cl_uint) string {
	switch q {
	case C.SVMRT_CL_KERNEL_ARG_ADDRESS_GLOBAL:
		return "__global"
	case C.SVMRT_CL_KERNEL_ARG_ADDRESS_CONSTANT:
		return "__constant"
	case C.SVMRT_CL_KERNEL_ARG_ADDRESS_LOCAL:
		return "__local"
	case C.SVMRT_CL_KERNEL_ARG_ADDRESS_PRIVATE:
		return "private (by value)"
	}
	return fmt.Sprintf("address qualifier %#x", uint(q))
}

// kindTypes are the OpenCL type names (as CL_KERNEL_ARG_TYPE_NAME spells
// them, spaces removed) each Kind accepts. PtrAny accepts any pointer.
// "long long" is how a 64-bit integer may be spelled in C; PoCL reports
// "unsigned long long" as "ulong long". A typed pointer Kind also accepts a
// pointer to a vector of its element type (see vectorOf).
var kindTypes = map[kernels.Kind][]string{
	kernels.F32:    {"float"},
	kernels.I32:    {"int"},
	kernels.U32:    {"uint", "unsignedint"},
	kernels.I64:    {"long", "longlong"},
	kernels.U64:    {"ulong", "unsignedlong", "ulonglong", "unsignedlonglong"},
	kernels.F64:    {"double"},
	kernels.I8:     {"char", "signedchar"},
	kernels.U8:     {"uchar", "unsignedchar"},
	kernels.I16:    {"short"},
	kernels.U16:    {"ushort", "unsignedshort"},
	kernels.PtrF32: {"float*", "atomic_float*"},
	kernels.PtrI32: {"int*", "atomic_int*"},
	kernels.PtrU32: {"uint*", "unsignedint*", "atomic_uint*"},
	kernels.PtrU8:  {"uchar*", "unsignedchar*", "char*", "signedchar*"},
}

// vectorElems are the element type names whose vector types (<elem>N, N in
// 2, 3, 4, 8, 16) a typed pointer Kind accepts: a float4* walks the same
// float array four at a time.
var vectorElems = map[kernels.Kind][]string{
	kernels.PtrF32: {"float"},
	kernels.PtrI32: {"int"},
	kernels.PtrU32: {"uint"},
	kernels.PtrU8:  {"uchar", "char"},
}

// vectorOf reports whether got is "<elem>N*" for one of kind's vector
// element names and N in 2, 3, 4, 8, 16.
func vectorOf(kind kernels.Kind, got string) bool {
	for _, e := range vectorElems[kind] {
		rest, ok := strings.CutPrefix(got, e)
		if !ok {
			continue
		}
		switch rest {
		case "2*", "3*", "4*", "8*", "16*":
			return true
		}
	}
	return false
}

// typeMatches reports whether the OpenCL type name got (spaces removed)
// fits kind, and what kind wants, for the error.
func typeMatches(kind kernels.Kind, got string) (bool, string) {
	if kind == kernels.PtrAny {
		return strings.HasSuffix(got, "*"), "any pointer"
	}
	names := kindTypes[kind]
	if slices.Contains(names, got) || vectorOf(kind, got) {
		return true, ""
	}
	if kind.IsPointer() {
		w := "__global " + names[0]
		if a := names[len(names)-1]; strings.HasPrefix(a, "atomic_") {
			w += " or " + a
		}
		if v := vectorElems[kind]; len(v) > 0 {
			w += " (or " + v[0] + "N*)"
		}
		return false, w
	}
	return false, names[0]
}

// testHookExecInfo, when set (by tests), sees every clSetKernelExecInfo a
// launch makes: the kernel object, "fine-system" ([0] or [1]) or
// "svm-ptrs" (the list).
var testHookExecInfo func(kern uintptr, what string, vals []uintptr)

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
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
		case prm.Kind == kernels.LocalMem:
			err = check(fmt.Sprintf("clSetKernelArg(%d %s, __local %d bytes)", i, prm.Name, a.Words[i]),
				C.clshim_set_arg_local(kern, C.cl_uint(i), C.size_t(a.Words[i])))
		case prm.Kind == kernels.Value:
			b := a.Values[i]
			if len(b) == 0 {
				err = fmt.Errorf("%w: kernel %s: param %d (%s) has no value", kernels.ErrBadArgs, k.Name, i, prm.Name)
				break
			}
			err = check(fmt.Sprintf("clSetKernelArg(%d %s, %d bytes)", i, prm.Name, len(b)),
				C.clshim_set_arg_bytes(kern, C.cl_uint(i), C.size_t(len(b)), unsafe.Pointer(&b[0])))
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
	// Kernel objects are pooled and shared by every Device on this OpenCL
	// device, whatever its mode, and clSetKernelExecInfo settings stay on
	// the object: set both on every launch, so no launch inherits another's
	// (a list of freed staging buffers, or system SVM left on for a
	// buffer-mode launch).
	if d.useExec {
		on := d.mode == ModePassThrough
		if err := check("clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM)", C.clshim_exec_info_fine_system(kern, boolInt(on))); err != nil {
			return nil, err
		}
		if testHookExecInfo != nil {
			testHookExecInfo(uintptr(unsafe.Pointer(kern)), "fine-system", []uintptr{uintptr(boolInt(on))})
		}
	}
	var list []C.uintptr_t
	if st != nil {
		for _, b := range st.bufs {
			list = append(list, C.uintptr_t(b.svm))
		}
	}
	if len(list) == 0 {
		// An empty list is not a valid value (CL_INVALID_VALUE): list the
		// device's own sentinel allocation instead. Without clSVMAlloc no
		// launch can have staged buffers to leave behind; but if it exists
		// and the sentinel cannot be allocated, the kernel object may still
		// list another launch's (freed) buffers: fail rather than inherit
		// them.
		sent := d.sh.sentinel()
		if sent == 0 && hasEntry("clSVMAlloc") {
			return nil, fmt.Errorf("clSVMAlloc of the 128-byte CL_KERNEL_EXEC_INFO_SVM_PTRS sentinel failed, so the kernel object's list of SVM buffers cannot be reset: %w", svm.ErrOutOfDeviceMemory)
		}
		if sent != 0 {
			list = append(list, C.uintptr_t(sent))
		}
	}
	if len(list) > 0 {
		if err := check("clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_PTRS)", C.clshim_exec_info_svm_ptrs(kern, &list[0], C.size_t(len(list)))); err != nil {
			return nil, err
		}
		if testHookExecInfo != nil {
			ps := make([]uintptr, len(list))
			for i, v := range list {
				ps[i] = uintptr(v)
			}
			testHookExecInfo(uintptr(unsafe.Pointer(kern)), "svm-ptrs", ps)
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
