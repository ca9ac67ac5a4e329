package devrt

// #include <stdlib.h>
// #include "sched.h"
import "C"

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/svmrt/svmrt/internal/clc"
)

// RunNative runs every work-group of l with host-direct memory access on
// workers goroutines (the cpu device). Each worker makes one call into C
// that takes groups from a shared counter until none is left (so a group
// costs no Go↔C transition); a failing group or a cancelled ctx stops the
// others from taking more. It returns the failures of the groups that
// failed (callers report the first by group order) and ctx.Err() if
// cancellation kept groups from running.
func RunNative(ctx context.Context, l *Launch, workers int) ([]GroupFailure, error) {
	total := l.Geom.Groups()
	workers = max(1, min(workers, total))
	// The counter and the stop flag are shared with C: C memory, a cache
	// line each (the counter is written, the flag read, by every worker).
	shared := (*[16]uint64)(C.dr_alloc(128))
	if shared == nil {
		return nil, errors.New("devrt: out of memory for a launch's group counter")
	}
	defer C.dr_free(unsafe.Pointer(shared))
	next, stop := &shared[0], (*C.int)(unsafe.Pointer(&shared[8]))
	// About eight chunks per worker: few enough that the counter is cold,
	// enough that a worker that finishes early takes more.
	chunk := max(1, total/(workers*8))
	var cancelled atomic.Bool
	if done := ctx.Done(); done != nil {
		// The watcher writes the C memory: it must be gone before the
		// memory is (the deferred free runs after this).
		quit, exited := make(chan struct{}), make(chan struct{})
		defer func() {
			close(quit)
			<-exited
		}()
		go func() {
			defer close(exited)
			select {
			case <-done:
				cancelled.Store(true)
				atomic.StoreInt32((*int32)(unsafe.Pointer(stop)), 1)
			case <-quit:
			}
		}()
	}
	// Group loops assume dimension 0's global ids are below
	// clc.GroupLoopIDLimit; a launch that reaches it runs item by item.
	loop := l.Entry.loop
	if uint64(l.Geom.Offset[0])+uint64(l.Geom.Global[0]) > clc.GroupLoopIDLimit {
		loop = nil
	}
	var (
		mu    sync.Mutex
		fails []GroupFailure
		first error
	)
	worker := func() {
		sm, err := NewSM(1, 1, l.Geom.GroupSize())
		if err != nil {
			mu.Lock()
			first = err
			mu.Unlock()
			atomic.StoreInt32((*int32)(unsafe.Pointer(stop)), 1)
			return
		}
		defer sm.Free()
		r := C.dr_sm_run_native(sm.c, l.c, (*[0]byte)(l.Entry.fn), (*[0]byte)(loop), l.args,
			(*C.uint64_t)(unsafe.Pointer(next)), C.uint64_t(total), C.uint64_t(chunk), stop)
		switch r {
		case 1:
			f := sm.Failures()
			mu.Lock()
			fails = append(fails, f...)
			mu.Unlock()
		case -1:
			mu.Lock()
			if first == nil {
				first = ErrNoStack
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(worker)
	}
	worker()
	wg.Wait()
	if first != nil {
		return fails, first
	}
	if len(fails) == 0 && cancelled.Load() && atomic.LoadUint64(next) < uint64(total) {
		return nil, ctx.Err()
	}
	return fails, nil
}
