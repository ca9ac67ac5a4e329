package svm

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"
)

// A sequential CPU reader of device pages takes one fault per read-ahead
// window, and the window keeps doubling past one bring-back's run of 64
// pages up to 512 (served as runs of 64, the reader woken by the first):
// 1 + 2 + ... + 512 = 1023 pages in 10 faults, then a fault for page 1023.
// (With windows stopping at 64 pages the same read took 22 faults, and a
// 256 MiB read ran at 0.42-0.49x copy().) Every page arrives with its data;
// the pages a window brought beyond the first run count as the fault's.
func TestReadAheadGrowsPastOneRun(t *testing.T) {
	const pages = 1024
	m := attach(t, pages)
	b := mmapRW(t, pages*PageSize)
	defer syscall.Munmap(b)
	fillWords(b, 3)
	migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	Default().ResetFaultWindow()
	Default().Sync()
	faults0, pages0 := m.FaultCounters()
	for i := 0; i < pages; i++ {
		readSink.Add(*(*uint64)(unsafe.Pointer(&b[i*PageSize])))
	}
	Default().Sync() // (see the next test)
	faults, got := m.FaultCounters()
	if faults-faults0 != 11 || got-pages0 != pages {
		t.Errorf("a sequential read of %d device pages: %d CPU faults bringing %d pages, want 11 and %d",
			pages, faults-faults0, got-pages0, pages)
	}
	if n := m.Resident(uintptr(unsafe.Pointer(&b[0])), pages); n != 0 {
		t.Errorf("%d pages still on the device", n)
	}
	checkWords(t, b, 3)
}

// readSink keeps the tests' reads from being optimised away.
var readSink atomic.Uint64

// Two goroutines reading halves of a device buffer in order each keep a
// window of their own (a read stream each), whatever the interleaving of
// their faults: each takes the faults of a lone reader of 511 pages (1 + 2
// + ... + 256 = 511 pages in 9 faults). The last page of each half is
// brought home first, so that neither window reaches into the other half
// (read-ahead stops at a page that is not on the device): else a reader
// that starts late finds its pages home already, brought by the other's
// window.
func TestReadAheadTwoReadersKeepTheirWindows(t *testing.T) {
	const pages, half = 1024, 512
	m := attach(t, pages)
	b := mmapRW(t, pages*PageSize)
	defer syscall.Munmap(b)
	for round := 0; round < 5; round++ {
		fillWords(b, uint64(round)*7)
		migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
		Default().ResetFaultWindow() // the last round's streams would take these for theirs
		readSink.Add(*(*uint64)(unsafe.Pointer(&b[(half-1)*PageSize])))
		readSink.Add(*(*uint64)(unsafe.Pointer(&b[(pages-1)*PageSize])))
		Default().ResetFaultWindow()
		// A thread can run on before the service thread has counted its
		// fault (a signal's retry finds the page installed): settle first.
		Default().Sync()
		faults0, _ := m.FaultCounters()
		var wg sync.WaitGroup
		for h := 0; h < 2; h++ {
			wg.Add(1)
			go func(part []byte) {
				defer wg.Done()
				for i := 0; i < len(part); i += PageSize {
					readSink.Add(*(*uint64)(unsafe.Pointer(&part[i])))
				}
			}(b[h*half*PageSize : ((h+1)*half-1)*PageSize])
		}
		wg.Wait()
		Default().Sync()
		if faults, _ := m.FaultCounters(); faults-faults0 != 18 {
			t.Errorf("round %d: two readers of %d pages each took %d CPU faults, want 18", round, half-1, faults-faults0)
		}
		if n := m.Resident(uintptr(unsafe.Pointer(&b[0])), pages); n != 0 {
			t.Errorf("round %d: %d pages still on the device", round, n)
		}
		checkWords(t, b, uint64(round)*7)
	}
}
