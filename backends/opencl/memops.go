package opencl

/*
#include <stdlib.h>
#include "clshim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"sync"

	"github.com/svmrt/svmrt/svm"
)

// The SVM memory commands on the program's own pointers.
//
// Pass-through mode hands the raw host addresses to clEnqueueSVMMemcpy,
// clEnqueueSVMMemFill, clEnqueueSVMMap/Unmap and clEnqueueSVMMigrateMem,
// as fine-grained system SVM allows (PoCL accepts host pointers in all of
// them: its CPU device executes them on host memory). Buffer mode has no
// device copy of host memory between launches: Copy still goes through
// clEnqueueSVMMemcpy (which takes host pointers on any OpenCL 2.0 device),
// Fill fills a staged SVM buffer on the device and copies it out, and
// Map/Unmap/MigrateMem are synchronisation points (a marker waited for
// with ctx, see sync): there is
// nothing to map or migrate. Every command checks ctx first (an ended ctx
// enqueues nothing and returns ctx.Err()), then the host memory it names
// (see checkSpans; in either mode, before anything else touches it), and is ordered with kernels in the device's in-order
// queue. If ctx ends while a command runs, it returns ctx.Err() unless the
// command has completed; a command already on the device (a copy, a fill in
// pass-through mode) cannot be recalled and completes, while a buffer-mode
// fill's copy-out to host memory either has started (the caller then waits
// for it) or never happens.

// Copy copies n bytes from src to dst on the device. Overlapping ranges
// are svm.ErrInvalidValue (CL_MEM_COPY_OVERLAP).
func (d *Device) Copy(ctx context.Context, dst, src, n uintptr) error {
	if err := ctx.Err(); err != nil {
		return err // an ended ctx enqueues nothing
	}
	if n == 0 {
		return nil
	}
	if dst < src+n && src < dst+n {
		return fmt.Errorf("opencl: copy %#x..%#x to %#x..%#x on %s: regions overlap: %w", src, src+n, dst, dst+n, d.Name(), svm.ErrInvalidValue)
	}
	if err := checkSpans(d.Name(), []span{{start: src, len: n, what: "copy source"}, {start: dst, len: n, write: true, what: "copy destination"}}); err != nil {
		return err
	}
	err := d.command(ctx, "copy", func(ev *C.cl_event) error {
		return check("clEnqueueSVMMemcpy", C.clshim_svm_memcpy(d.q, 0, C.uintptr_t(dst), C.uintptr_t(src), C.size_t(n), ev))
	}, nil, nil)
	if err == nil {
		d.bytesIn.Add(int64(n))
		d.bytesOut.Add(int64(n))
	}
	return err
}

// Fill fills [dst, dst+n) with pattern repeated (see svm.CheckFill).
func (d *Device) Fill(ctx context.Context, dst uintptr, pattern []byte, n uintptr) error {
	if err := ctx.Err(); err != nil {
		return err // an ended ctx enqueues nothing
	}
	if err := svm.CheckFill(dst, pattern, n); err != nil {
		return fmt.Errorf("opencl: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := checkSpans(d.Name(), []span{{start: dst, len: n, write: true, what: "fill destination"}}); err != nil {
		return err
	}
	// The pattern is copied by the implementation when the call returns;
	// pass it from C memory anyway (the call may be asynchronous).
	pat := C.CBytes(pattern)
	defer C.free(pat)
	if d.mode == ModePassThrough {
		return d.command(ctx, "fill", func(ev *C.cl_event) error {
			return check("clEnqueueSVMMemFill", C.clshim_svm_memfill(d.q, C.uintptr_t(dst), pat, C.size_t(len(pattern)), C.size_t(n), ev))
		}, nil, nil)
	}
	// Buffer mode: fill an SVM buffer on the device, then (unless the
	// caller has given up) copy it out. The buffer is allocated once the
	// command is registered (a closed device allocates nothing) and freed
	// when the device is done with it.
	flags := C.cl_bitfield(C.SVMRT_CL_MEM_READ_WRITE)
	if d.sh.info.SVM.FineBuffer {
		flags |= C.SVMRT_CL_MEM_SVM_FINE_GRAIN_BUFFER
	}
	var buf uintptr
	return d.command(ctx, "fill", func(ev *C.cl_event) error {
		if buf = svmAlloc(d.sh.ctx, flags, n); buf == 0 {
			return fmt.Errorf("clSVMAlloc of %d bytes for a fill failed: %w", n, svm.ErrOutOfDeviceMemory)
		}
		return check("clEnqueueSVMMemFill", C.clshim_svm_memfill(d.q, C.uintptr_t(buf), pat, C.size_t(len(pattern)), C.size_t(n), ev))
	}, func() error {
		if err := check("clEnqueueSVMMemcpy(SVM buffer to host)", C.clshim_svm_memcpy(d.q, 1, C.uintptr_t(dst), C.uintptr_t(buf), C.size_t(n), nil)); err != nil {
			return err
		}
		d.bytesOut.Add(int64(n))
		return nil
	}, func() {
		svmFree(d.sh.ctx, buf)
	})
}

// Map makes [p, p+n) ready for host access (clEnqueueSVMMap, read and
// write) and waits for it.
func (d *Device) Map(ctx context.Context, p, n uintptr) error {
	if err := ctx.Err(); err != nil {
		return err // an ended ctx enqueues nothing
	}
	if n == 0 {
		return d.sync(ctx, "map")
	}
	if err := checkSpans(d.Name(), []span{{start: p, len: n, what: "map"}}); err != nil {
		return err
	}
	if d.mode == ModeBuffer {
		return d.sync(ctx, "map")
	}
	return d.command(ctx, "map", func(ev *C.cl_event) error {
		return check("clEnqueueSVMMap", C.clshim_svm_map(d.q, 0, C.SVMRT_CL_MAP_READ|C.SVMRT_CL_MAP_WRITE, C.uintptr_t(p), C.size_t(n), ev))
	}, nil, nil)
}

// Unmap ends host access to [p, p+n) (clEnqueueSVMUnmap) and waits for it.
func (d *Device) Unmap(ctx context.Context, p, n uintptr) error {
	if err := ctx.Err(); err != nil {
		return err // an ended ctx enqueues nothing
	}
	if n == 0 {
		return d.sync(ctx, "unmap")
	}
	if err := checkSpans(d.Name(), []span{{start: p, len: n, what: "unmap"}}); err != nil {
		return err
	}
	if d.mode == ModeBuffer {
		return d.sync(ctx, "unmap")
	}
	return d.command(ctx, "unmap", func(ev *C.cl_event) error {
		return check("clEnqueueSVMUnmap", C.clshim_svm_unmap(d.q, C.uintptr_t(p), ev))
	}, nil, nil)
}

// MigrateMem asks the device to move [p, p+n) to itself, or to the host
// when toHost (clEnqueueSVMMigrateMem, OpenCL 2.1: a hint, the data stays
// the same), and waits for it. A library without the entry point (2.0) is
// svm.ErrNotSupported. Pages of the range that another (simulated) device
// holds come home first, so this device can reach them.
func (d *Device) MigrateMem(ctx context.Context, p, n uintptr, toHost bool) error {
	if err := ctx.Err(); err != nil {
		return err // an ended ctx enqueues nothing
	}
	if n == 0 {
		return d.sync(ctx, "migrate")
	}
	// The whole range first: svm's migration must not walk a range that
	// runs into holes or other mappings (a huge n on a small mapping).
	if err := checkSpans(d.Name(), []span{{start: p, len: n, what: "migrate"}}); err != nil {
		return err
	}
	if _, err := svm.Default().MigrateToHost(p, n); err != nil {
		return err
	}
	if d.mode == ModeBuffer {
		return d.sync(ctx, "migrate")
	}
	var flags C.cl_bitfield
	if toHost {
		flags = C.SVMRT_CL_MIGRATE_MEM_OBJECT_HOST
	}
	return d.command(ctx, "migrate", func(ev *C.cl_event) error {
		return check("clEnqueueSVMMigrateMem", C.clshim_svm_migrate(d.q, C.uintptr_t(p), C.size_t(n), flags, ev))
	}, nil, nil)
}

// sync waits until every command queued so far has completed, or for
// ctx: a marker on the in-order queue (clEnqueueMarkerWithWaitList) waited
// for like any command, so an earlier kernel that runs for seconds does
// not hold the caller past its ctx (it returns ctx.Err() then). An ended
// ctx waits for nothing. Without the marker entry point (OpenCL 1.1),
// clFinish runs on a goroutine the caller stops waiting for.
func (d *Device) sync(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if hasMarker() {
		return d.command(ctx, what, func(ev *C.cl_event) error {
			return check("clEnqueueMarkerWithWaitList", C.clshim_marker(d.q, ev))
		}, nil, nil)
	}
	if err := d.begin(); err != nil {
		return err
	}
	res := make(chan error, 1)
	go func() {
		err := finish(d.q)
		d.end()
		res <- err
	}()
	var err error
	select {
	case err = <-res:
	case <-ctx.Done():
		select {
		case err = <-res: // a result that is ready wins
		default:
			return ctx.Err()
		}
	case <-faults.lost:
		select {
		case err = <-res:
		default:
			return lostError(d.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("opencl: %s on %s: %w", what, d.Name(), err)
	}
	return nil
}

var hasMarker = sync.OnceValue(func() bool { return hasEntry("clEnqueueMarkerWithWaitList") })

// command enqueues one command (enqueue sets *ev to the event of its last
// step), flushes, and waits for it or for ctx. An ended ctx enqueues
// nothing. out, if set, runs once the event completed, unless the caller
// has abandoned the command (see completion): it is the step that writes
// host memory. after runs once the device is done with the command,
// whether or not the caller still waits.
func (d *Device) command(ctx context.Context, what string, enqueue func(ev *C.cl_event) error, out func() error, after func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.begin(); err != nil {
		return err
	}
	var ev C.cl_event
	if err := enqueue(&ev); err != nil {
		if ev != nil {
			waitEvent(ev)
			releaseEvent(ev)
		}
		finish(d.q) // earlier steps may be queued
		if after != nil {
			after()
		}
		d.end()
		return fmt.Errorf("opencl: %s on %s: %w", what, d.Name(), err)
	}
	flush(d.q)
	err, completed := d.awaitEvent(ctx, ev, out, after)
	if !completed {
		return err
	}
	if err != nil {
		return fmt.Errorf("opencl: %s on %s: %w", what, d.Name(), err)
	}
	return nil
}
