package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"sync"
	"unsafe"
)

// Command-queues run their commands in order on a worker goroutine of their
// own, started with the first command and ended when the queue is idle. A
// command waits for the events of its wait list (a failed one fails it
// with CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST), then runs with the
// device to itself (devRun): the device's runtime queue is shared by
// every OpenCL queue, and holding it for one command at a time keeps each
// command's profiling interval its own. A command that fails on the device
// (a kernel's fault, a copy from an unmapped address) ends its event with
// CL_OUT_OF_RESOURCES; the process goes on.
//
// clFlush has nothing to do (commands are issued as they are enqueued);
// clFinish waits for the queue's last command.

// command is one enqueued command: its event, its wait list, and what it
// does (nil for markers and barriers). A host command (clEnqueueSVMFree's,
// or one with nothing to run) runs without the device: a free callback may
// take as long as it likes.
type command struct {
	ev    *event
	waits []*event
	run   func() error
	host  bool
	// after runs when the command has ended, however it ended: it lets go
	// of the memory objects the command holds (holdMems).
	after func()
}

// queueState is a queue's pending commands (under its mutex).
type queueState struct {
	mu      sync.Mutex
	pending []*command
	running bool   // a worker goroutine is draining pending
	last    *event // the last command enqueued
}

var devRun sync.Mutex // one device command at a time (see above)

// simClock is the device's simulated clock in nanoseconds.
func (d *device) simClock() uint64 {
	s, ok := d.dev.SimStats()
	if !ok {
		return 0
	}
	return uint64(s.SimulatedTime.Nanoseconds())
}

// launchErr is the status of a command the device failed.
const launchErr = C.CL_OUT_OF_RESOURCES

// enqueue adds a command to q and starts the worker if it is idle. It gives
// the event a handle when evOut is not nil.
func (q *queue) enqueue(cmd C.cl_command_type, waits []*event, run func() error, evOut *unsafe.Pointer) (*event, C.cl_int) {
	// A command with nothing to run (a marker, a barrier, an empty range)
	// needs no device.
	return q.enqueueCommand(&command{waits: waits, run: run, host: run == nil}, cmd, evOut)
}

// enqueueCommand is enqueue for a command made by the caller (a host
// command).
func (q *queue) enqueueCommand(c *command, cmd C.cl_command_type, evOut *unsafe.Pointer) (*event, C.cl_int) {
	e := newEvent(q.ctx, q, cmd)
	e.times[0] = q.dev.simClock()
	reg.mu.Lock()
	e.profiled = q.props&C.CL_QUEUE_PROFILING_ENABLE != 0 // clSetCommandQueueProperty may change it later
	if evOut != nil {
		h := e.handleLocked()
		if h == nil {
			reg.mu.Unlock()
			return nil, C.CL_OUT_OF_HOST_MEMORY
		}
		*evOut = h
	}
	reg.mu.Unlock()
	c.ev = e
	q.state.mu.Lock()
	q.state.pending = append(q.state.pending, c)
	q.state.last = e
	start := !q.state.running
	q.state.running = true
	q.state.mu.Unlock()
	if start {
		go q.work()
	}
	return e, C.CL_SUCCESS
}

func (q *queue) work() {
	for {
		q.state.mu.Lock()
		if len(q.state.pending) == 0 {
			q.state.running = false
			q.state.mu.Unlock()
			return
		}
		c := q.state.pending[0]
		q.state.pending[0] = nil
		q.state.pending = q.state.pending[1:]
		q.state.mu.Unlock()
		q.execute(c)
	}
}

func (q *queue) execute(c *command) {
	// The command lets go of its memory objects before its event is final,
	// so a buffer released after a blocking command is deleted (and its
	// destructor callbacks have run) by the time the command's waiters go on.
	end := func(status C.cl_int) {
		if c.after != nil {
			c.after()
		}
		c.ev.setStatus(status)
	}
	failed := false
	for _, w := range c.waits {
		<-w.done
		if w.getStatus() < 0 {
			failed = true
		}
	}
	e := c.ev
	if failed {
		end(C.CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
		return
	}
	// Callbacks run as the status changes, in this goroutine: those of
	// CL_SUBMITTED before the device is taken, those of CL_RUNNING with the
	// device held (a callback must not block, as the spec says).
	e.stamp(1, q.dev.simClock())
	e.setStatus(C.CL_SUBMITTED)
	if !c.host {
		devRun.Lock()
	}
	e.stamp(2, q.dev.simClock())
	e.setStatus(C.CL_RUNNING)
	var err error
	if c.run != nil {
		err = c.run()
	}
	e.stamp(3, q.dev.simClock())
	if !c.host {
		devRun.Unlock()
	}
	if err != nil {
		// The context's notification callback is the channel the spec
		// gives for what went wrong.
		q.ctx.notifyError(err.Error())
		end(launchErr)
		return
	}
	end(C.CL_COMPLETE)
}

// finish waits for every command enqueued on q so far.
func (q *queue) finish() {
	q.state.mu.Lock()
	last := q.state.last
	q.state.mu.Unlock()
	if last != nil {
		<-last.done
	}
}

// released is called when the application's last reference to q goes: its
// commands still run (clReleaseCommandQueue flushes), and nothing else
// needs doing, since the worker ends when the queue is idle.
func (q *queue) released() {}

// waitDevice waits for a runtime command to end and returns its error.
func waitDevice(ev interface {
	Wait(gocontext.Context) error
}, err error) error {
	if err == nil {
		err = ev.Wait(gocontext.Background())
	}
	return err
}

// queueAndWaits resolves the queue and the wait list of an enqueue call.
func queueAndWaits(qh unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer) (*queue, []*event, C.cl_int) {
	reg.mu.Lock()
	q := queueOfLocked(qh)
	reg.mu.Unlock()
	if q == nil {
		return nil, nil, C.CL_INVALID_COMMAND_QUEUE
	}
	waits, code := waitList(q.ctx, n, list)
	if code != C.CL_SUCCESS {
		return nil, nil, code
	}
	return q, waits, C.CL_SUCCESS
}

// blockOn waits for a blocking command's event and returns the call's
// result: its failure, as CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST when
// it failed because of its wait list.
func blockOn(e *event) C.cl_int {
	<-e.done
	if s := e.getStatus(); s < 0 {
		return s
	}
	return C.CL_SUCCESS
}

//export svmrt_go_finish
func svmrt_go_finish(h unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	q := queueOfLocked(h)
	reg.mu.Unlock()
	if q == nil {
		return C.CL_INVALID_COMMAND_QUEUE
	}
	q.finish()
	return C.CL_SUCCESS
}

//export svmrt_go_flush
func svmrt_go_flush(h unsafe.Pointer) C.cl_int {
	if !valid(KindQueue, h) {
		return C.CL_INVALID_COMMAND_QUEUE
	}
	return C.CL_SUCCESS
}

// svmrt_go_marker is clEnqueueMarkerWithWaitList, clEnqueueBarrierWithWaitList
// (the same on an in-order queue: both wait for every earlier command, and
// the wait list's events), clEnqueueMarker, clEnqueueBarrier and
// clEnqueueWaitForEvents.
//
//export svmrt_go_marker
func svmrt_go_marker(qh unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer, cmd C.cl_command_type) C.cl_int {
	q, waits, code := queueAndWaits(qh, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	_, code = q.enqueue(cmd, waits, nil, evOut)
	return code
}
