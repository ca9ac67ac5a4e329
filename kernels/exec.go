package kernels

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"
)

// Gate lets a backend's scheduler know when work-items block and resume
// inside the executor (barrier waits), so it can tell "all items are blocked"
// apart from "still running". Park is called by an item before it blocks at
// a barrier; Unpark(n) is called by the item that releases the barrier (the
// last to arrive, or a failing item), on behalf of the n parked items,
// before any of them can run again. Counting the release in the releasing
// goroutine matters: were each waiter to unpark itself after waking, the
// scheduler could see "nobody running" in between, conclude the wave is
// done, and leave the woken items to fault with nobody servicing them.
// Both may be called from many goroutines at once, with the group's lock
// held (so a Gate must not call back into the executor).
type Gate interface {
	Park()
	Unpark(n int)
}

// GroupConfig says how RunGroup executes the work-items of a group.
type GroupConfig struct {
	// Concurrent runs a goroutine per work-item (forced when the kernel has
	// Barriers); otherwise items run one after another in the calling
	// goroutine, in local linear order.
	Concurrent bool
	// MemFor returns the Mem for the item with this local linear id; nil
	// MemFor, or a nil result, means host-direct access.
	MemFor func(localLinear int) Mem
	// Gate is told about barrier waits; may be nil.
	Gate Gate
	// Local is optional preallocated local memory, reused across groups by a
	// caller that runs one group at a time per buffer. It is used when it is
	// large enough and 8-byte aligned; otherwise RunGroup allocates.
	Local []byte
}

// PanicError is the error RunGroup returns when a kernel body panics with
// something other than an *Abort, or faults on a host-direct access (a bad
// address in a kernel argument or in memory a kernel followed).
type PanicError struct {
	Kernel   string
	Group    int    // linear work-group index
	GlobalID [3]int // the work-item's global id, or UnknownItem
	Value    any    // the recovered panic value
	// Addr is the faulting address when Fault is set: the body touched
	// memory that is not mapped (or not accessible) on the host.
	Addr  uintptr
	Fault bool
	Stack []byte // the panicking goroutine's stack, for debugging
}

// UnknownItem is PanicError.GlobalID when the faulting work-item is not
// known: on the cpu device a work-group without barriers runs as one
// loop, which the compiler may vectorize, and a fault there names the
// group and the address only (as a GPU's fault reports an address, not a
// thread).
var UnknownItem = [3]int{-1, -1, -1}

func (e *PanicError) Error() string {
	if e.Fault {
		return fmt.Sprintf("kernels: kernel %s: work-item %s (work-group %d): memory fault at address %#x",
			e.Kernel, fmtID(e.GlobalID), e.Group, e.Addr)
	}
	return fmt.Sprintf("kernels: kernel %s: work-item %s (work-group %d) panicked: %v",
		e.Kernel, fmtID(e.GlobalID), e.Group, e.Value)
}

// Unwrap returns the panic value if it is an error (runtime errors are).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func fmtID(id [3]int) string {
	if id == UnknownItem {
		return "(unknown: the group ran as one loop)"
	}
	return "(" + strconv.Itoa(id[0]) + "," + strconv.Itoa(id[1]) + "," + strconv.Itoa(id[2]) + ")"
}

// RunGroup executes every work-item of work-group group (a linear index into
// nd's groups, dimension 0 fastest) and returns the first error:
//   - the Err of an *Abort a work-item panicked with (a Mem's device fault),
//     returned unchanged;
//   - a *PanicError for any other panic in a body, or a memory fault on a
//     host-direct access (recovered with debug.SetPanicOnFault rather than
//     crashing the process);
//   - ErrBarrierDivergence, wrapped with the kernel, group and item, when
//     an item returns while others wait at a barrier or reaches a barrier
//     that an item which already returned never reached;
//   - ErrInvalidNDRange or ErrBadArgs for a bad nd or group index, or Args
//     that do not fit the kernel (see Args.Check).
//
// When a group fails, every item waiting at a barrier is released and aborts
// too, and later barrier calls abort at once, so RunGroup always returns once
// the bodies return. In sequential mode items after the failing one are not
// run.
func RunGroup(k *Kernel, nd NDRange, group int, a *Args, cfg GroupConfig) error {
	if k == nil || k.Body == nil {
		return errors.New("kernels: RunGroup: kernel has no Go body")
	}
	if err := nd.Validate(); err != nil {
		return err
	}
	if err := a.Check(k); err != nil {
		return err
	}
	if total := nd.TotalGroups(); group < 0 || group >= total {
		return fmt.Errorf("%w: work-group %d out of range: %s has %d work-groups", ErrInvalidNDRange, group, nd, total)
	}
	g := &groupRun{
		k:         k,
		a:         a,
		nd:        nd.norm(),
		group:     group,
		coords:    nd.GroupCoords(group),
		numGroups: nd.NumGroups(),
		size:      nd.GroupSize(),
		gate:      cfg.Gate,
	}
	if k.LocalBytes != nil {
		n := k.LocalBytes(nd, a)
		if n < 0 {
			return fmt.Errorf("kernels: kernel %s: LocalBytes returned %d", k.Name, n)
		}
		g.local = localMem(cfg.Local, n)
		if len(g.local) >= 4 {
			g.localF32 = unsafe.Slice((*float32)(unsafe.Pointer(&g.local[0])), len(g.local)/4)
		}
	}
	g.concurrent = (cfg.Concurrent || k.Barriers) && g.size > 1
	if g.concurrent {
		return g.runConcurrent(cfg.MemFor)
	}
	// A fault on a bad host address must become an error, not a crash. The
	// setting is per goroutine; restore the caller's.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return g.runSequential(cfg.MemFor)
}

// localMem returns n zeroed, 8-byte aligned bytes of local memory, from buf if
// it fits. Zeroing is not required by OpenCL (local memory starts undefined)
// but makes every backend start from the same state, which keeps runs
// reproducible.
func localMem(buf []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	if cap(buf) >= n && uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%8 == 0 {
		b := buf[:n]
		clear(b)
		return b
	}
	w := make([]uint64, (n+7)/8) // []uint64 guarantees the alignment LocalF32 needs
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// groupRun is the shared state of one executing work-group.
//
// Lock order: mu, then the Gate's own lock (Gate.Park/Unpark are called
// with mu held so that parking and releasing are counted atomically with
// the barrier state).
type groupRun struct {
	// Immutable once the items start.
	k          *Kernel
	a          *Args
	nd         NDRange // normalised: unused dims are 1
	group      int
	coords     [3]int // group coordinates
	numGroups  [3]int
	size       int // work-items in the group
	local      []byte
	localF32   []float32
	concurrent bool // a goroutine per item; barriers really wait
	gate       Gate

	mu sync.Mutex
	// The fields below are protected by mu (concurrent mode only).
	live     int         // items whose body has not returned
	exited   int         // items whose body has returned (normally or not)
	waiting  int         // items blocked at the current barrier
	barriers int         // barrier generations completed
	gen      *generation // the barrier generation items currently wait on
	err      error       // first error of the group
}

// generation is one use of the group's reusable barrier. done is closed when
// the generation is released; err, written before the close, is non-nil if it
// was released because the group failed.
type generation struct {
	done chan struct{}
	err  error
}

func newGeneration() *generation { return &generation{done: make(chan struct{})} }

// runSequential runs the items one after another on the calling goroutine.
// One deferred recover covers the whole loop: the first failure ends the group.
func (g *groupRun) runSequential(memFor func(int) Mem) (err error) {
	it := &Item{g: g}
	defer func() {
		if r := recover(); r != nil {
			err = g.recovered(it, r)
		}
	}()
	L := g.nd.Local
	base := [3]int{g.coords[0]*L[0] + g.nd.Offset[0], g.coords[1]*L[1] + g.nd.Offset[1], g.coords[2]*L[2] + g.nd.Offset[2]}
	body, a := g.k.Body, g.a
	l := 0
	for z := 0; z < L[2]; z++ {
		for y := 0; y < L[1]; y++ {
			for x := 0; x < L[0]; x++ {
				it.lid = [3]int{x, y, z}
				it.gid = [3]int{base[0] + x, base[1] + y, base[2] + z}
				it.mem = nil
				if memFor != nil {
					it.mem = memFor(l)
				}
				body(it, a)
				l++
			}
		}
	}
	return nil
}

// runConcurrent runs a goroutine per item and waits for all of them.
func (g *groupRun) runConcurrent(memFor func(int) Mem) error {
	g.live = g.size
	g.gen = newGeneration()
	items := make([]Item, g.size)
	L := g.nd.Local
	base := [3]int{g.coords[0]*L[0] + g.nd.Offset[0], g.coords[1]*L[1] + g.nd.Offset[1], g.coords[2]*L[2] + g.nd.Offset[2]}
	var wg sync.WaitGroup
	wg.Add(g.size)
	l := 0
	for z := 0; z < L[2]; z++ {
		for y := 0; y < L[1]; y++ {
			for x := 0; x < L[0]; x++ {
				it := &items[l]
				it.g = g
				it.lid = [3]int{x, y, z}
				it.gid = [3]int{base[0] + x, base[1] + y, base[2] + z}
				if memFor != nil {
					it.mem = memFor(l)
				}
				go g.runItem(it, &wg)
				l++
			}
		}
	}
	wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *groupRun) runItem(it *Item, wg *sync.WaitGroup) {
	defer wg.Done()
	debug.SetPanicOnFault(true) // our own goroutine: nothing to restore
	returned := false
	defer func() {
		if r := recover(); r != nil {
			g.fail(g.recovered(it, r))
		} else if !returned {
			g.fail(fmt.Errorf("kernels: kernel %s: work-item %s (work-group %d) called runtime.Goexit",
				g.k.Name, fmtID(it.gid), g.group))
		}
		g.exit(it)
	}()
	g.k.Body(it, g.a)
	returned = true
}

// recovered turns a recovered panic value into the item's error.
func (g *groupRun) recovered(it *Item, r any) error {
	switch v := r.(type) {
	case *Abort:
		if v != nil && v.Err != nil {
			return v.Err
		}
		return errAborted
	case Abort:
		if v.Err != nil {
			return v.Err
		}
		return errAborted
	}
	pe := &PanicError{Kernel: g.k.Name, Group: g.group, GlobalID: it.gid, Value: r, Stack: debug.Stack()}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		pe.Fault, pe.Addr = true, f.Addr()
	}
	return pe
}

// fail records err as the group's error if it is the first, and releases the
// items waiting at the barrier so they abort too.
func (g *groupRun) fail(err error) {
	g.mu.Lock()
	g.failLocked(err)
	g.mu.Unlock()
}

// failLocked is fail with g.mu held.
func (g *groupRun) failLocked(err error) {
	if g.err == nil {
		g.err = err
	}
	if g.waiting > 0 {
		g.releaseLocked(g.err)
	}
}

// releaseLocked opens the current barrier generation (with err, nil for a
// normal release) and starts the next one. g.mu must be held.
func (g *groupRun) releaseLocked(err error) {
	gen := g.gen
	gen.err = err
	parked := g.waiting // every waiter parked, except a releasing arrival
	if err == nil {
		g.barriers++
		parked--
	}
	g.gen = newGeneration()
	g.waiting = 0
	if g.gate != nil && parked > 0 {
		g.gate.Unpark(parked)
	}
	close(gen.done)
}

// exit records that an item's body returned. An item returning while others
// wait at a barrier means they wait for it in vain: divergence.
func (g *groupRun) exit(it *Item) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.live--
	g.exited++
	if g.err == nil && g.waiting > 0 {
		g.failLocked(fmt.Errorf("%w: kernel %s, work-group %d: work-item %s returned while %d work-item(s) wait at barrier #%d",
			ErrBarrierDivergence, g.k.Name, g.group, fmtID(it.gid), g.waiting, g.barriers+1))
	}
}

func (g *groupRun) barrier(it *Item) {
	if !g.concurrent {
		if g.size == 1 {
			return // a group of one is always complete
		}
		panic(&Abort{Err: fmt.Errorf("kernels: kernel %s calls Barrier but its work-items run one after another "+
			"(set Kernel.Barriers so executors run them concurrently)", g.k.Name)})
	}
	g.mu.Lock()
	if g.err != nil {
		err := g.err
		g.mu.Unlock()
		panic(&Abort{Err: err})
	}
	if g.exited > 0 {
		// An item that already returned can never reach this barrier.
		err := fmt.Errorf("%w: kernel %s, work-group %d: work-item %s reached barrier #%d after %d work-item(s) returned without reaching it",
			ErrBarrierDivergence, g.k.Name, g.group, fmtID(it.gid), g.barriers+1, g.exited)
		g.failLocked(err)
		g.mu.Unlock()
		panic(&Abort{Err: err})
	}
	g.waiting++
	if g.waiting == g.live {
		g.releaseLocked(nil) // the last to arrive releases the others and does not park
		g.mu.Unlock()
		return
	}
	gen := g.gen
	if g.gate != nil {
		g.gate.Park()
	}
	g.mu.Unlock()
	<-gen.done // the releaser has already unparked us
	if gen.err != nil {
		panic(&Abort{Err: gen.err})
	}
}
