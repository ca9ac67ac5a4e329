package devrt

import (
	"context"
	"sync"
	"sync/atomic"
)

// RunNative runs every work-group of l with host-direct memory access on
// workers goroutines (the cpu device), handing groups out one at a time.
// It returns the failures of the groups that failed (the first by group
// order is what a caller reports) and ctx.Err() if cancellation kept groups
// from running.
func RunNative(ctx context.Context, l *Launch, workers int) ([]GroupFailure, error) {
	total := l.Geom.Groups()
	workers = max(1, min(workers, total))
	var (
		next  atomic.Int64
		stop  atomic.Bool
		mu    sync.Mutex
		fails []GroupFailure
		first error
	)
	done := ctx.Done()
	worker := func() {
		sm, err := NewSM(1, 1, l.Geom.GroupSize())
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			stop.Store(true)
			return
		}
		defer sm.Free()
		for !stop.Load() {
			if done != nil {
				select {
				case <-done:
					stop.Store(true)
					return
				default:
				}
			}
			g := int(next.Add(1) - 1)
			if g >= total {
				return
			}
			if err := sm.Assign(l, g, 1); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				stop.Store(true)
				return
			}
			sm.Run()
			if f := sm.Failures(); len(f) > 0 {
				mu.Lock()
				fails = append(fails, f...)
				mu.Unlock()
				stop.Store(true)
				return
			}
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
	if len(fails) == 0 && next.Load() < int64(total) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return fails, nil
}
