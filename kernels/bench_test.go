package kernels

import (
	"testing"
	"unsafe"
)

// The host path of the accessors against a plain slice loop: both sum the
// same 4096 floats; ns/access is the figure of merit.
const benchN = 4096

var sink float32

func reportPerAccess(b *testing.B, accesses int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(accesses), "ns/access")
}

func BenchmarkSliceLoop(b *testing.B) {
	s := make([]float32, benchN)
	for b.Loop() {
		var sum float32
		for _, v := range s {
			sum += v
		}
		sink = sum
	}
	reportPerAccess(b, benchN)
}

func BenchmarkHostLoadF32(b *testing.B) {
	s := make([]float32, benchN)
	it := &Item{}
	base := uintptr(unsafe.Pointer(&s[0]))
	for b.Loop() {
		var sum float32
		for i := 0; i < benchN; i++ {
			sum += it.LoadF32(base + uintptr(i)*4)
		}
		sink = sum
	}
	reportPerAccess(b, benchN)
}

// BenchmarkMemLoadF32 is the same loop through a Mem (an interface call per
// access), the price simgpu pays before any MMU work.
func BenchmarkMemLoadF32(b *testing.B) {
	s := make([]float32, benchN)
	it := &Item{mem: &countingMem{}}
	base := uintptr(unsafe.Pointer(&s[0]))
	for b.Loop() {
		var sum float32
		for i := 0; i < benchN; i++ {
			sum += it.LoadF32(base + uintptr(i)*4)
		}
		sink = sum
	}
	reportPerAccess(b, benchN)
}

// BenchmarkSaxpyRunGroup is the executor's per-work-item overhead on the
// host path (sequential items, 256 per group).
func BenchmarkSaxpyRunGroup(b *testing.B) {
	n := 1 << 16
	y, x := make([]float32, n), make([]float32, n)
	a := mustBind(b, Saxpy, y, x, float32(2), n)
	nd := SaxpyRange(n)
	for b.Loop() {
		for g := 0; g < nd.TotalGroups(); g++ {
			if err := RunGroup(Saxpy, nd, g, a, GroupConfig{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

// BenchmarkSumReduceRunGroup is a barrier kernel: a goroutine per work-item.
func BenchmarkSumReduceRunGroup(b *testing.B) {
	n := 1 << 14
	in := make([]float32, n)
	nd := SumRange(n, 256)
	partial := make([]float32, nd.TotalGroups())
	a := mustBind(b, SumReduce, partial, in, n)
	for b.Loop() {
		for g := 0; g < nd.TotalGroups(); g++ {
			if err := RunGroup(SumReduce, nd, g, a, GroupConfig{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}
