package svm

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// Page-movement benchmarks (go test -bench Movement -benchmem ./svm/):
// each op moves a fresh 64 MiB buffer. allocs/op over pages/op is the Go
// garbage per page; cmd/svmrt-bench -sections movement prints the same
// paths beside copy() with ratios.
const movementBytes = 64 << 20

func benchDevice(b *testing.B) *DevMem {
	s := Default()
	if s.Degraded() != nil {
		b.Skipf("migration unavailable: %v", s.Degraded())
	}
	m, err := s.Attach(testDev{b.Name()}, movementBytes+(8<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Release() })
	return m
}

func benchMap(b *testing.B, n int) []byte {
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += PageSize {
		mem[i] = byte(i / PageSize)
	}
	return mem
}

// Host→device migration of a buffer whose pages are all present.
func BenchmarkMovementMigrate(b *testing.B) {
	m := benchDevice(b)
	pages := movementBytes / PageSize
	b.SetBytes(movementBytes)
	for b.Loop() {
		b.StopTimer()
		mem := benchMap(b, movementBytes)
		b.StartTimer()
		migrateRange(b, m, unsafe.Pointer(&mem[0]), len(mem))
		b.StopTimer()
		syscall.Munmap(mem)
		b.StartTimer()
	}
	b.ReportMetric(float64(pages), "pages/op")
}

// CPU faults bringing a device-resident buffer home, read in order by one
// goroutine (copy()).
func BenchmarkMovementBringBack(b *testing.B) {
	m := benchDevice(b)
	dst := make([]byte, movementBytes)
	b.SetBytes(movementBytes)
	for b.Loop() {
		b.StopTimer()
		mem := benchMap(b, movementBytes)
		migrateRange(b, m, unsafe.Pointer(&mem[0]), len(mem))
		b.StartTimer()
		copy(dst, mem)
		b.StopTimer()
		syscall.Munmap(mem)
		b.StartTimer()
	}
}

// One CPU fault per op on a device-resident page, in random order (no
// read-ahead: every read is its own fault).
func BenchmarkMovementRandomFault(b *testing.B) {
	m := benchDevice(b)
	const pages = 4096
	var mem []byte
	var order []int
	next := pages
	var sum byte
	for b.Loop() {
		if next == pages {
			b.StopTimer()
			if mem != nil {
				syscall.Munmap(mem)
			}
			mem = benchMap(b, pages*PageSize)
			migrateRange(b, m, unsafe.Pointer(&mem[0]), len(mem))
			order, next = rand.Perm(pages), 0
			b.StartTimer()
		}
		sum += mem[order[next]*PageSize]
		next++
	}
	if mem != nil {
		syscall.Munmap(mem)
	}
	benchSink = sum
}

var benchSink byte

// One Migrate of a run of present pages per op, at several run lengths:
// what a caller pays per call (the hand-off to the fault-service thread
// and its move's TLB shootdown) against per page. A simulated GPU's fault
// round coalesces its batches' runs by this measure.
func BenchmarkMigrateRun(b *testing.B) {
	for _, run := range []int{1, 8, 32, 64} {
		b.Run(fmt.Sprintf("pages=%d", run), func(b *testing.B) {
			m := benchDevice(b)
			const total = 4096 // pages per buffer: a fresh one when used up
			var mem []byte
			var v VMA
			at := total
			b.SetBytes(int64(run * PageSize))
			for b.Loop() {
				if at+run > total {
					b.StopTimer()
					if mem != nil {
						syscall.Munmap(mem)
						Default().Sync()
						m.FreeFrames()
					}
					mem = benchMap(b, total*PageSize)
					v = resolve(b, uintptr(unsafe.Pointer(&mem[0])))
					at = 0
					b.StartTimer()
				}
				addr := uintptr(unsafe.Pointer(&mem[at*PageSize]))
				if _, err := m.Migrate(v, addr, run); err != nil {
					b.Fatal(err)
				}
				at += run
			}
			b.StopTimer()
			syscall.Munmap(mem)
		})
	}
}
