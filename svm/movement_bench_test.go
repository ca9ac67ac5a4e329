package svm

import (
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
