package icd

/*
#include "icd.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Events. Every enqueued command has an event, made when it is enqueued;
// it gets a handle (and an application reference) only when the caller asks
// for it, so commands enqueued without one cost no handle (handles are never
// freed, see the registry). A user event (clCreateUserEvent) belongs to a
// context and no queue.
//
// An event's status only moves forward — CL_QUEUED, CL_SUBMITTED,
// CL_RUNNING, then CL_COMPLETE or a negative error code — and every change
// happens under evMu. done is closed when the status becomes final. An event
// is deleted from the registry when the application has released it and it
// is final: a command keeps running, and its callbacks still run, after the
// application has let go of its event.
//
// Profiling times are the simulated GPU's clock (runtime's SimStats
// SimulatedTime, nanoseconds), read when the command is queued, submitted,
// starts and ends: the queue worker runs a device command with the device to
// itself (devRun), so the clock's advance between start and end is that
// command's simulated time.

var evMu sync.Mutex

type event struct {
	h        unsafe.Pointer // nil until the application asks for it
	refs     int            // application references (under reg.mu)
	ctx      *context
	q        *queue // nil for a user event
	cmd      C.cl_command_type
	user     bool
	profiled bool // its queue had CL_QUEUE_PROFILING_ENABLE when it was enqueued
	attached bool // the event holds ctx (a user event, or one with a handle)

	// Under evMu:
	status    C.cl_int
	callbacks []eventCallback
	times     [4]uint64 // CL_PROFILING_COMMAND_QUEUED, SUBMIT, START, END
	userSet   bool      // clSetUserEventStatus was called

	done chan struct{} // closed when status is final
}

type eventCallback struct {
	fn, userData unsafe.Pointer
	on           C.cl_int // CL_SUBMITTED, CL_RUNNING or CL_COMPLETE
}

func (*event) kind() Kind { return KindEvent }

func newEvent(ctx *context, q *queue, cmd C.cl_command_type) *event {
	return &event{ctx: ctx, q: q, cmd: cmd, status: C.CL_QUEUED, done: make(chan struct{})}
}

// handleLocked gives e a handle and an application reference (the event a
// caller asked an enqueue call for). reg.mu must be held.
func (e *event) handleLocked() unsafe.Pointer {
	if e.h == nil {
		e.h = newHandleLocked(e)
		if e.h == nil {
			return nil
		}
		e.ctx.deps++
		e.attached = true
	}
	e.refs++
	return e.h
}

// final reports whether s is a final status.
func final(s C.cl_int) bool { return s <= C.CL_COMPLETE }

// setStatus moves e to status s (ignored unless it moves forward) and runs
// the callbacks that s reaches, outside the locks. A negative status reaches
// every callback.
func (e *event) setStatus(s C.cl_int) {
	evMu.Lock()
	if final(e.status) || s >= e.status {
		evMu.Unlock()
		return
	}
	e.status = s
	var run, keep []eventCallback
	for _, cb := range e.callbacks {
		if s <= cb.on {
			run = append(run, cb)
		} else {
			keep = append(keep, cb)
		}
	}
	e.callbacks = keep
	isFinal := final(s)
	evMu.Unlock()
	for _, cb := range run {
		st := cb.on
		if s < 0 {
			st = s
		}
		C.svmrt_icd_call_event_callback(cb.fn, e.h, st, cb.userData)
	}
	if isFinal {
		close(e.done)
		reg.mu.Lock()
		gone := e.maybeDeleteLocked()
		reg.mu.Unlock()
		destroyed(gone)
	}
}

// stamp records profiling time i (0 queued ... 3 end) from the device clock.
func (e *event) stamp(i int, t uint64) {
	evMu.Lock()
	e.times[i] = t
	evMu.Unlock()
}

func (e *event) getStatus() C.cl_int {
	evMu.Lock()
	defer evMu.Unlock()
	return e.status
}

// maybeDeleteLocked deletes e once the application has released it and it
// is final; it returns e's context if that deleted it too. reg.mu must be
// held.
func (e *event) maybeDeleteLocked() *context {
	if e.h == nil || e.refs > 0 {
		return nil
	}
	select {
	case <-e.done:
	default:
		return nil
	}
	if _, ok := reg.objs[e.h]; !ok {
		return nil
	}
	delete(reg.objs, e.h)
	if e.attached {
		e.attached = false
		return detachLocked(e.ctx)
	}
	return nil
}

// eventOfLocked returns the event h names, nil when the application has
// released it (even while its command still runs). reg.mu must be held.
func eventOfLocked(h unsafe.Pointer) *event {
	e, _ := lookupLocked(KindEvent, h).(*event)
	if e == nil || e.refs == 0 {
		return nil
	}
	return e
}

// waitList resolves an event wait list: the events, or an error code
// (CL_INVALID_EVENT_WAIT_LIST; CL_INVALID_CONTEXT for an event of another
// context than ctx, when ctx is not nil).
func waitList(ctx *context, n C.cl_uint, list *unsafe.Pointer) ([]*event, C.cl_int) {
	if (n == 0) != (list == nil) {
		return nil, C.CL_INVALID_EVENT_WAIT_LIST
	}
	if n == 0 {
		return nil, C.CL_SUCCESS
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	evs := make([]*event, 0, n)
	for _, h := range unsafe.Slice(list, int(n)) {
		e := eventOfLocked(h)
		if e == nil {
			return nil, C.CL_INVALID_EVENT_WAIT_LIST
		}
		if ctx != nil && e.ctx != ctx {
			return nil, C.CL_INVALID_CONTEXT
		}
		evs = append(evs, e)
	}
	return evs, C.CL_SUCCESS
}

//export svmrt_go_create_user_event
func svmrt_go_create_user_event(ch unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	c := contextOfLocked(ch)
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	e := newEvent(c, nil, C.CL_COMMAND_USER)
	e.user = true
	e.status = C.CL_SUBMITTED
	if e.handleLocked() == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return e.h
}

//export svmrt_go_set_user_event_status
func svmrt_go_set_user_event_status(h unsafe.Pointer, status C.cl_int) C.cl_int {
	reg.mu.Lock()
	e := eventOfLocked(h)
	reg.mu.Unlock()
	if e == nil || !e.user {
		return C.CL_INVALID_EVENT
	}
	if status != C.CL_COMPLETE && status >= 0 {
		return C.CL_INVALID_VALUE
	}
	evMu.Lock()
	if e.userSet {
		evMu.Unlock()
		return C.CL_INVALID_OPERATION
	}
	e.userSet = true
	evMu.Unlock()
	e.setStatus(status)
	return C.CL_SUCCESS
}

//export svmrt_go_wait_for_events
func svmrt_go_wait_for_events(n C.cl_uint, list *unsafe.Pointer) C.cl_int {
	if n == 0 || list == nil {
		return C.CL_INVALID_VALUE
	}
	reg.mu.Lock()
	var evs []*event
	for _, h := range unsafe.Slice(list, int(n)) {
		e := eventOfLocked(h)
		if e == nil {
			reg.mu.Unlock()
			return C.CL_INVALID_EVENT
		}
		if len(evs) > 0 && e.ctx != evs[0].ctx {
			reg.mu.Unlock()
			return C.CL_INVALID_CONTEXT
		}
		evs = append(evs, e)
	}
	reg.mu.Unlock()
	code := C.cl_int(C.CL_SUCCESS)
	for _, e := range evs {
		<-e.done
		if e.getStatus() < 0 {
			code = C.CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST
		}
	}
	return code
}

//export svmrt_go_event_info
func svmrt_go_event_info(h unsafe.Pointer, name C.cl_event_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	e := eventOfLocked(h)
	if e == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_EVENT
	}
	var v []byte
	switch name {
	case C.CL_EVENT_COMMAND_QUEUE:
		if e.q != nil {
			v = ptrs(e.q.h)
		} else {
			v = ptrs(nil)
		}
	case C.CL_EVENT_CONTEXT:
		v = ptrs(e.ctx.h)
	case C.CL_EVENT_COMMAND_TYPE:
		v = u32(uint32(e.cmd))
	case C.CL_EVENT_COMMAND_EXECUTION_STATUS:
		v = u32(uint32(e.getStatus()))
	case C.CL_EVENT_REFERENCE_COUNT:
		v = u32(uint32(e.refs))
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

//export svmrt_go_event_profiling
func svmrt_go_event_profiling(h unsafe.Pointer, name C.cl_profiling_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	e := eventOfLocked(h)
	reg.mu.Unlock()
	if e == nil {
		return C.CL_INVALID_EVENT
	}
	if !e.profiled || e.getStatus() != C.CL_COMPLETE {
		return C.CL_PROFILING_INFO_NOT_AVAILABLE
	}
	evMu.Lock()
	t := e.times
	evMu.Unlock()
	var v uint64
	switch name {
	case C.CL_PROFILING_COMMAND_QUEUED:
		v = t[0]
	case C.CL_PROFILING_COMMAND_SUBMIT:
		v = t[1]
	case C.CL_PROFILING_COMMAND_START:
		v = t[2]
	case C.CL_PROFILING_COMMAND_END, C.CL_PROFILING_COMMAND_COMPLETE:
		v = t[3]
	default:
		return C.CL_INVALID_VALUE
	}
	return writeInfo(u64(v), size, out, ret)
}

//export svmrt_go_set_event_callback
func svmrt_go_set_event_callback(h unsafe.Pointer, on C.cl_int, fn, userData unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	e := eventOfLocked(h)
	reg.mu.Unlock()
	if e == nil {
		return C.CL_INVALID_EVENT
	}
	if fn == nil || (on != C.CL_SUBMITTED && on != C.CL_RUNNING && on != C.CL_COMPLETE) {
		return C.CL_INVALID_VALUE
	}
	evMu.Lock()
	s := e.status
	if s > on {
		e.callbacks = append(e.callbacks, eventCallback{fn, userData, on})
		evMu.Unlock()
		return C.CL_SUCCESS
	}
	evMu.Unlock()
	// The status has been reached already: call it now, from this thread.
	st := on
	if s < 0 {
		st = s
	}
	C.svmrt_icd_call_event_callback(fn, e.h, st, userData)
	return C.CL_SUCCESS
}
