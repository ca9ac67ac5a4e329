package runtime_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// FuzzMemoryCommands drives the public launch and memory-command API with
// hostile arguments: pointers that are NULL, in a hole, PROT_NONE,
// read-only, device memory, wrapping around or beyond the user address
// space, and byte counts, fill patterns, kernel arguments and work sizes
// as the fuzzer makes them. Counts are not clamped: a count far beyond the
// memory must fail, not hang or crash. Every outcome must be success or an
// error wrapping one of the API's sentinels.
//
// Pointers into the first page other than NULL itself cannot be passed as
// unsafe.Pointer at all (a Go program cannot hold one); launches get them
// as uintptr arguments.
//
// What the commands may write is bounded by the address space, not by
// clamping: every valid pointer the fuzzer can form lies in a small
// playground surrounded by PROT_NONE guards, so a range that runs past it
// hits a guard (and must be refused) before it reaches memory of the test
// itself. Launch sizes (work-items) are bounded: a huge launch is long
// work, not a bug.
func FuzzMemoryCommands(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), uint64(0), uint8(0), uint64(0), uint64(4096), []byte{1}, uint32(64), uint32(64), int32(64))
	f.Add(uint8(0), uint8(1), uint8(0), uint64(0), uint8(0), uint64(0), uint64(1)<<30, []byte{1, 2, 3, 4}, uint32(1), uint32(1), int32(0))
	f.Add(uint8(1), uint8(1), uint8(0), uint64(4096), uint8(0), uint64(0), uint64(1)<<40, []byte{0}, uint32(1), uint32(1), int32(0))
	f.Add(uint8(2), uint8(0), uint8(1), uint64(0), uint8(0), uint64(0), uint64(0), []byte{}, uint32(1024), uint32(64), int32(1024))
	f.Add(uint8(2), uint8(1), uint8(0), uint64(100), uint8(3), uint64(0), uint64(0), []byte{}, uint32(4096), uint32(128), int32(1<<30))
	f.Add(uint8(3), uint8(1), uint8(4), uint64(4095), uint8(0), uint64(0), ^uint64(0), []byte{}, uint32(1), uint32(1), int32(0))
	f.Add(uint8(5), uint8(1), uint8(0), uint64(0), uint8(0), uint64(0), uint64(1)<<44, []byte{}, uint32(1), uint32(1), int32(0))
	f.Add(uint8(6), uint8(0), uint8(0), uint64(8192), uint8(0), uint64(0), uint64(1)<<20, []byte{}, uint32(1), uint32(1), int32(0))
	f.Add(uint8(0), uint8(0), uint8(7), uint64(0), uint8(0), uint64(0), uint64(4096), []byte{0xff, 0xff}, uint32(1), uint32(1), int32(0))
	f.Fuzz(func(t *testing.T, op, dev, k1 uint8, off1 uint64, k2 uint8, off2 uint64, n uint64, pat []byte, global, local uint32, kn int32) {
		pg := playgroundFor(t)
		d := pg.devs[int(dev)%len(pg.devs)]
		a1, a2 := pg.addr(k1, off1), pg.addr(k2, off2)
		// Memory commands take unsafe.Pointers; kernels also take uintptr
		// (the launch uses the addresses as they are, the first page
		// included: Go forbids a non-nil pointer below 4096 in a pointer
		// variable — the stack copier throws — so those become nil here).
		p1, p2 := up(a1), up(a2)
		size := uintptr(n)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var err error
		wait := func(ev *svmrt.Event, e error) error {
			if e != nil {
				return e
			}
			return ev.Wait(ctx)
		}
		switch op % 10 {
		case 0:
			err = wait(d.Memfill(ctx, p1, pat, size))
		case 1:
			err = wait(d.Memcpy(ctx, p1, p2, size))
		case 2:
			g, l := int(global%(1<<16))+1, int(local%1024)+1
			err = wait(d.Launch(ctx, kernels.Saxpy, kernels.Range1D(g, l), a1, a2, float32(2), kn))
		case 3:
			err = d.Prefetch(p1, size)
			if _, e := d.Migrate(p2, size); err == nil {
				err = e
			}
		case 4:
			_, err = svmrt.MigrateToHost(p1, size)
		case 5:
			_, err = d.Snapshot(p1, size)
		case 6:
			err = wait(d.Discard(ctx, p1, size))
		case 7:
			err = wait(d.Map(ctx, p1, size))
			if e := wait(d.Unmap(ctx, p1, size)); err == nil {
				err = e
			}
		case 8:
			err = wait(d.MigrateMem(ctx, p1, size, kn%2 == 0))
		case 9:
			err = svmrt.SetPreferredLocation(p1, size, d.Location())
			if e := svmrt.SetReadMostly(p2, size); err == nil {
				err = e
			}
			svmrt.ClearAdvice(p1, size)
			svmrt.ClearAdvice(p2, size)
		}
		if err != nil && !known(err) {
			t.Fatalf("op %d on %s: unclassified error: %v", op%10, d.Name(), err)
		}
		if ctx.Err() != nil {
			t.Fatalf("op %d on %s did not finish within 20 s", op%10, d.Name())
		}
	})
}

// known reports whether err wraps a sentinel a caller can match.
func known(err error) bool {
	for _, s := range []error{svmrt.ErrDeviceFault, svmrt.ErrPermission, svmrt.ErrInvalidValue, svmrt.ErrNotSupported,
		svmrt.ErrOutOfDeviceMemory, kernels.ErrBadArgs, kernels.ErrInvalidNDRange} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// playground is the memory the fuzzer's pointers may name.
type playground struct {
	devs  []*svmrt.Device
	base  uintptr // the playground: rw pages, then read-only pages, then rw pages
	size  uintptr
	ro    uintptr // first read-only page
	guard uintptr // a PROT_NONE guard page
	hole  uintptr
	arena uintptr // simgpu device memory
}

const (
	guardPages = 64
	playPages  = 16
)

var (
	pgOnce sync.Once
	pgVal  *playground
	pgErr  error
)

// playgroundFor makes the playground and opens the devices, once per
// process (fuzz workers are processes).
func playgroundFor(t *testing.T) *playground {
	pgOnce.Do(func() {
		total := (2*guardPages + playPages) * svm.PageSize
		mem, err := syscall.Mmap(-1, 0, total, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			pgErr = err
			return
		}
		play := mem[guardPages*svm.PageSize : (guardPages+playPages)*svm.PageSize]
		if err := syscall.Mprotect(play, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			pgErr = err
			return
		}
		if err := syscall.Mprotect(play[8*svm.PageSize:10*svm.PageSize], syscall.PROT_READ); err != nil {
			pgErr = err
			return
		}
		pg := &playground{base: uintptr(unsafe.Pointer(&play[0])), size: uintptr(len(play))}
		pg.ro = pg.base + 8*svm.PageSize
		pg.guard = pg.base + pg.size
		for _, name := range []string{"cpu", "simgpu"} {
			d, err := svmrt.Open(name, svmrt.WithVRAM(4<<20))
			if err != nil {
				pgErr = err
				return
			}
			pg.devs = append(pg.devs, d)
			if g, ok := d.Backend().(*simgpu.Device); ok {
				pg.arena = g.Mem().Base()
			}
		}
		pgVal = pg
	})
	if pgErr != nil {
		t.Fatal(pgErr)
	}
	if pgVal.hole == 0 {
		pgVal.hole = testmem.Hole(t)
	}
	return pgVal
}

// up is a as a pointer: nil for the first page (see the fuzz function).
func up(a uintptr) unsafe.Pointer {
	if a < svm.PageSize {
		return nil
	}
	return ptrAt(a)
}

// addr forms an address of the kind k selects.
func (pg *playground) addr(k uint8, off uint64) uintptr {
	var a uintptr
	switch k % 8 {
	case 0:
		a = pg.base + uintptr(off%uint64(pg.size))
	case 1:
		a = uintptr(off % svm.PageSize) // NULL and the page it starts
	case 2:
		a = pg.hole + uintptr(off%(16*svm.PageSize))
	case 3:
		a = pg.guard + uintptr(off%(guardPages*svm.PageSize))
	case 4:
		a = ^uintptr(0) - uintptr(off%(1<<20)) // wraps around
	case 5:
		a = svm.UserSpaceEnd + uintptr(off%(1<<40)) // beyond user space
	case 6:
		a = pg.ro + uintptr(off%(2*svm.PageSize))
	case 7:
		a = pg.arena + uintptr(off%(4<<20)) // device memory
	}
	return a
}
