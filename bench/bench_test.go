package bench

import (
	"context"
	"flag"
	"testing"

	"github.com/svmrt/svmrt/runtime"
)

// The benchmarks' sizes: small by default (every benchmark once must stay
// quick: `go test -run '^$' -bench . -benchtime 1x ./...`); the full sizes
// of cmd/svmrt-kbench are, for example,
//
//	go test -run '^$' -bench . ./bench -kbench.items 4096 -kbench.loads 4096 \
//	    -kbench.saxpy 4194304 -kbench.fresh 256MiB -kbench.fresh-go 4MiB -kbench.m 1024
var (
	flagItems   = flag.Int("kbench.items", 1024, "(a) work-items (a multiple of 256)")
	flagLoads   = flag.Int("kbench.loads", 1024, "(a) loads per work-item")
	flagSaxpy   = flag.Int("kbench.saxpy", 1<<18, "(b) saxpy elements")
	flagFresh   = flag.String("kbench.fresh", "8MiB", "(c) fresh memory per launch, x and y together")
	flagFreshGo = flag.String("kbench.fresh-go", "256KiB", "(c) the same for the Go body (0: skip)")
	flagM       = flag.Int("kbench.m", 256, "(d) mulmat size m")
)

func benchSizes(tb testing.TB) Sizes {
	fresh, err := ParseSize(*flagFresh)
	if err != nil {
		tb.Fatal(err)
	}
	freshGo, err := ParseSize(*flagFreshGo)
	if err != nil {
		tb.Fatal(err)
	}
	return Sizes{LoadItems: *flagItems, Loads: *flagLoads, SaxpyN: *flagSaxpy, FreshBytes: fresh, FreshGoBytes: freshGo,
		MulMat: []int{*flagM}, GoBodies: true}
}

// benchSection runs every case of s as a sub-benchmark named by its ID,
// reporting the section's unit (and, on simgpu, the TLB hit rate or the
// faults per page).
func benchSection(b *testing.B, s Section) {
	for _, c := range s.Cases {
		b.Run(c.ID, func(b *testing.B) {
			if c.Skip != "" {
				b.Skip(c.Skip)
			}
			ctx := context.Background()
			r, err := c.Open(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := r.Close(); err != nil {
					b.Error(err)
				}
			}()
			if err := r.WarmUp(ctx); err != nil { // compiled, built, resident
				b.Fatal(err)
			}
			var total Sample
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r.Setup != nil {
					b.StopTimer()
					if err := r.Setup(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				x, err := r.Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				total.Elapsed += x.Elapsed
				total.Units += x.Units
				total.Stats = AddStats(total.Stats, x.Stats)
				if r.Teardown != nil {
					b.StopTimer()
					if err := r.Teardown(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			if err := r.Check(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s.Value(total), s.Unit)
			st := total.Stats
			if acc := st.TLBHits + st.TLBMisses; acc > 0 && s.Key == "a" {
				b.ReportMetric(100*float64(st.TLBHits)/float64(acc), "%hits")
			}
			if st.PagesH2D > 0 && s.Key == "c" {
				b.ReportMetric(float64(st.PagesH2D)/float64(b.N), "pages/op")
			}
		})
	}
}

// BenchmarkLoads is (a): ns per device access on TLB hits, compiled simgpu
// kernel vs its Go body (and the same kernel natively on cpu).
func BenchmarkLoads(b *testing.B) {
	s := benchSizes(b)
	benchSection(b, LoadsSection(s.LoadItems, s.Loads, true))
}

// BenchmarkSaxpy is (b): ns per element on warm memory, simgpu and cpu vs a
// plain Go loop.
func BenchmarkSaxpy(b *testing.B) {
	benchSection(b, SaxpySection(benchSizes(b).SaxpyN, true))
}

// BenchmarkFresh is (c): µs of host time per page migrated by device
// faults, fresh memory every iteration.
func BenchmarkFresh(b *testing.B) {
	s := benchSizes(b)
	benchSection(b, FreshSection(s.FreshBytes, s.FreshGoBytes))
}

// BenchmarkMulMat is (d): GFLOP/s of MulMat compiled on cpu vs its source
// on OpenCL (PoCL), and the HostFast sgemm.
func BenchmarkMulMat(b *testing.B) {
	benchSection(b, MulMatSection(*flagM))
}

// TestSections runs every case of every section twice at tiny sizes and
// checks its results (a Check per case: the kernel computed what the
// reference does, and the cpu cases ran what their names say).
func TestSections(t *testing.T) {
	tiny := Sizes{LoadItems: 256, Loads: 64, SaxpyN: 5000, FreshBytes: 1 << 20, FreshGoBytes: 64 << 10, MulMat: []int{48}, GoBodies: true}
	ctx := context.Background()
	for _, s := range Sections(tiny) {
		for _, c := range s.Cases {
			t.Run(s.Key+"/"+c.ID, func(t *testing.T) {
				if c.Skip != "" {
					t.Skip(c.Skip)
				}
				r, err := c.Open(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := r.Close(); err != nil {
						t.Error(err)
					}
				}()
				if err := r.WarmUp(ctx); err != nil {
					t.Fatal(err)
				}
				for range 2 {
					x, err := r.Once(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if x.Elapsed <= 0 || (x.Units <= 0 && !(s.Key == "c" && degraded())) {
						t.Fatalf("sample %+v: no time or no units", x)
					}
					if v := s.Value(x); v < 0 {
						t.Fatalf("value %g", v)
					}
				}
				if err := r.Check(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256MiB": 256 << 20, "4 KiB": 4096, "1GiB": 1 << 30, "123": 123, "0": 0, "2M": 2 << 20} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1MiB", "1.5MiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}

func degraded() bool { return runtime.Degraded() != nil }
