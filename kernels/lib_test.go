package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func TestLibrarySources(t *testing.T) {
	for _, k := range []*Kernel{MulMat, Saxpy, SumReduce, Histogram, ListWalk, Gather, StrideAdd} {
		// The OpenCL backend creates the kernel by Name.
		if !strings.Contains(k.Source, "__kernel void "+k.Name+"(") {
			t.Errorf("%s: Source does not define __kernel void %s(", k.Name, k.Name)
		}
		for _, p := range k.Params {
			if !strings.Contains(k.Source, " "+p.Name+",") && !strings.Contains(k.Source, " "+p.Name+")") &&
				!strings.Contains(k.Source, "*"+p.Name+",") && !strings.Contains(k.Source, "*"+p.Name+")") {
				t.Errorf("%s: Source lacks parameter %s", k.Name, p.Name)
			}
		}
		if (k.LocalBytes != nil) != strings.Contains(k.Source, "__local") {
			t.Errorf("%s: LocalBytes and the __local argument disagree", k.Name)
		}
		if k.Barriers != strings.Contains(k.Source, "barrier(") {
			t.Errorf("%s: Barriers and the source disagree", k.Name)
		}
		if k.String() != k.Name {
			t.Errorf("String")
		}
	}
}

func TestMulMat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{1, 7, 20, 48} {
		a, b := randF32(r, m*m), randF32(r, m*m)
		want := make([]float32, m*m)
		RefMulMat(want, a, b, m)
		var host []float32
		for _, md := range modes {
			t.Run(fmt.Sprintf("m=%d/%s", m, md.name), func(t *testing.T) {
				got := make([]float32, m*m)
				cfg, cm := md.config()
				if err := runAll(MulMat, MulMatRange(m), mustBind(t, MulMat, got, a, b, m), cfg); err != nil {
					t.Fatal(err)
				}
				// Body rounds exactly like the reference: equal bits, not just close.
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("r[%d] = %v, want %v", i, got[i], want[i])
					}
				}
				if cm != nil {
					if cm.loads.Load() != int64(2*m*m*m) || cm.stores.Load() != int64(m*m) {
						t.Fatalf("Mem saw %d loads %d stores, want %d and %d", cm.loads.Load(), cm.stores.Load(), 2*m*m*m, m*m)
					}
				}
				if host == nil {
					host = got
				} else if fmt.Sprint(host) != fmt.Sprint(got) {
					t.Fatal("Mem path differs from host-direct path")
				}
			})
		}
	}
	// A range larger than the matrix: the extra items do nothing.
	m := 10
	a, b := randF32(r, m*m), randF32(r, m*m)
	got, want := make([]float32, m*m), make([]float32, m*m)
	RefMulMat(want, a, b, m)
	if err := runAll(MulMat, Range2D(16, 16, 16, 16), mustBind(t, MulMat, got, a, b, m), GroupConfig{}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("oversized range")
	}
}

func TestMulMatHostFast(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Sizes around the micro-tile (2×4), panel (256) and k-block (256) edges,
	// and the parallel threshold.
	for _, m := range []int{1, 2, 3, 4, 5, 9, 63, 64, 65, 130, 257, 300} {
		a, b := randF32(r, m*m), randF32(r, m*m)
		want := make([]float32, m*m)
		RefMulMat(want, a, b, m)
		got := make([]float32, m*m)
		for i := range got {
			got[i] = 12345 // HostFast must not read r's old contents
		}
		if !MulMat.HostFast(MulMatRange(m), mustBind(t, MulMat, got, a, b, m), 2) {
			t.Fatalf("m=%d: HostFast did not apply", m)
		}
		// The contract is "Body within float tolerance": the sgemm sums in
		// k-blocks and with FMAs. Entries are in [-1, 1), so both results are
		// within m·ε·Σ|a·b| ≤ m²·ε of the exact one.
		tol := 2 * float64(m) * float64(m) / (1 << 24)
		for i := range want {
			if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
				t.Fatalf("m=%d: r[%d] = %v, want %v (|diff| %g > %g)", m, i, got[i], want[i], d, tol)
			}
		}
	}
}

func TestMulMatHostFastDeclines(t *testing.T) {
	m := 8
	a, b, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	cases := []struct {
		name string
		nd   NDRange
		args *Args
	}{
		{"r aliases a", MulMatRange(m), mustBind(t, MulMat, a, a, b, m)},
		{"r overlaps b", MulMatRange(m), mustBind(t, MulMat, b[4:], a, b[:m*m-4], m-1)},
		{"r too short", MulMatRange(m), mustBind(t, MulMat, r[:m*m-1], a, b, m)},
		{"unknown extent", MulMatRange(m), mustBind(t, MulMat, unsafe.Pointer(&r[0]), a, b, m)},
		{"partial range", Range2D(m, m/2, 4, 4), mustBind(t, MulMat, r, a, b, m)},
		{"1-D range", Range1D(m*m, 64), mustBind(t, MulMat, r, a, b, m)},
		{"m = 0", MulMatRange(0), mustBind(t, MulMat, r, a, b, 0)},
		{"hand-made Args", MulMatRange(m), handMade(mustBind(t, MulMat, r, a, b, m))},
	}
	for _, c := range cases {
		if MulMat.HostFast(c.nd, c.args, 2) {
			t.Errorf("%s: HostFast applied", c.name)
		}
	}
}

// handMade copies a's words and ranges into Args that Bind did not make.
func handMade(a *Args) *Args {
	return &Args{Words: a.Words, Ranges: a.Ranges, Keep: a.Keep}
}

func TestSaxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 100, 1000, 1025} {
		x, y0 := randF32(r, n), randF32(r, n)
		want := append([]float32(nil), y0...)
		RefSaxpy(want, x, 1.75, n)
		for _, md := range modes {
			y := append([]float32(nil), y0...)
			cfg, cm := md.config()
			if err := runAll(Saxpy, SaxpyRange(n), mustBind(t, Saxpy, y, x, float32(1.75), n), cfg); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(y) != fmt.Sprint(want) {
				t.Fatalf("n=%d %s: y differs from RefSaxpy", n, md.name)
			}
			if cm != nil && (cm.loads.Load() != int64(2*n) || cm.stores.Load() != int64(n)) {
				t.Fatalf("n=%d %s: Mem saw %d loads %d stores", n, md.name, cm.loads.Load(), cm.stores.Load())
			}
		}
	}
}

func TestSumReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 1000, 4096, 5000} {
		in := randF32(r, n)
		for _, local := range []int{0, 1, 96, 1024} {
			nd := SumRange(n, local)
			want := RefSumReduce(in, n, local)
			if len(want) != nd.TotalGroups() {
				t.Fatalf("RefSumReduce gave %d partials for %d groups", len(want), nd.TotalGroups())
			}
			for _, md := range modes {
				t.Run(fmt.Sprintf("n=%d/local=%d/%s", n, local, md.name), func(t *testing.T) {
					partial := make([]float32, nd.TotalGroups())
					cfg, cm := md.config()
					err := within(t, hangLimit, func() error {
						return runAll(SumReduce, nd, mustBind(t, SumReduce, partial, in, n), cfg)
					})
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(partial) != fmt.Sprint(want) {
						t.Fatalf("partials differ from RefSumReduce:\n got %v\nwant %v", partial, want)
					}
					if cm != nil && (cm.loads.Load() != int64(n) || cm.stores.Load() != int64(len(partial))) {
						t.Fatalf("Mem saw %d loads %d stores", cm.loads.Load(), cm.stores.Load())
					}
				})
			}
			partial := make([]float32, nd.TotalGroups())
			if !SumReduce.HostFast(nd, mustBind(t, SumReduce, partial, in, n), 2) {
				t.Fatal("HostFast did not apply")
			}
			if fmt.Sprint(partial) != fmt.Sprint(want) {
				t.Fatalf("n=%d local=%d: HostFast partials differ", n, local)
			}
		}
	}
	// Linear ids make a 2-D launch add every element exactly once. Small
	// integers keep every partial sum exact, whatever the grouping.
	in := make([]float32, 1000)
	var total float32
	for i := range in {
		in[i] = float32(i % 10)
		total += in[i]
	}
	nd := Range2D(40, 30, 8, 6)
	partial := make([]float32, nd.TotalGroups())
	if err := runAll(SumReduce, nd, mustBind(t, SumReduce, partial, in, len(in)), GroupConfig{}); err != nil {
		t.Fatal(err)
	}
	var got float32
	for _, p := range partial {
		got += p
	}
	if got != total {
		t.Fatalf("2-D sum %v, want %v", got, total)
	}
	if SumReduce.HostFast(nd, mustBind(t, SumReduce, partial, in, len(in)), 2) {
		t.Fatal("HostFast applied to a 2-D range")
	}
	if SumReduce.HostFast(SumRange(10, 4), mustBind(t, SumReduce, partial[:1], in, 10), 2) {
		t.Fatal("HostFast applied with too few partials")
	}
	if SumReduce.HostFast(SumRange(10, 4), handMade(mustBind(t, SumReduce, partial, in, 10)), 2) {
		t.Fatal("HostFast applied to hand-made Args")
	}
}

func TestHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 1000, 5000} {
		data := make([]uint32, n)
		for i := range data {
			data[i] = r.Uint32()
		}
		for _, nbins := range []int{1, 13, 256} {
			want := make([]uint32, nbins)
			want[0] = 7 // bins accumulate
			RefHistogram(want, data, n)
			for _, md := range modes {
				bins := make([]uint32, nbins)
				bins[0] = 7
				cfg, cm := md.config()
				if err := runAll(Histogram, HistogramRange(n), mustBind(t, Histogram, bins, data, n, nbins), cfg); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(bins) != fmt.Sprint(want) {
					t.Fatalf("n=%d nbins=%d %s: got %v want %v", n, nbins, md.name, bins, want)
				}
				if cm != nil && (cm.loads.Load() != int64(n) || cm.atomics.Load() != int64(n)) {
					t.Fatalf("Mem saw %d loads %d atomics", cm.loads.Load(), cm.atomics.Load())
				}
			}
		}
	}
	// nbins <= 0: nothing happens (and no division by zero).
	bins := []uint32{5}
	if err := runAll(Histogram, HistogramRange(3), mustBind(t, Histogram, bins, []uint32{1, 2, 3}, 3, 0), GroupConfig{}); err != nil || bins[0] != 5 {
		t.Fatalf("nbins=0: %v %v", err, bins)
	}
}

func TestListNodeLayout(t *testing.T) {
	var n ListNode
	if unsafe.Offsetof(n.Next) != listNodeNextOff || unsafe.Offsetof(n.Value) != listNodeValueOff || unsafe.Sizeof(n) != 16 {
		t.Fatalf("ListNode layout: Next@%d Value@%d size %d; ListWalk and its OpenCL struct assume 0, 8, 16",
			unsafe.Offsetof(n.Next), unsafe.Offsetof(n.Value), unsafe.Sizeof(n))
	}
}

// makeLists builds n lists of varied lengths (list 3 is empty) as separately
// allocated Go objects.
func makeLists(r *rand.Rand, n int) []*ListNode {
	heads := make([]*ListNode, n)
	for i := range heads {
		if i == 3 {
			continue
		}
		for j := r.IntN(40); j >= 0; j-- {
			heads[i] = &ListNode{Next: heads[i], Value: r.Float32()}
		}
	}
	return heads
}

func TestListWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 10, 300} {
		heads := makeLists(r, n)
		want := RefListWalk(heads)
		for _, md := range modes {
			out := make([]float32, n)
			cfg, cm := md.config()
			if err := runAll(ListWalk, ListWalkRange(n), mustBind(t, ListWalk, out, heads, n), cfg); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(out) != fmt.Sprint(want) {
				t.Fatalf("n=%d %s: got %v want %v", n, md.name, out, want)
			}
			if cm != nil {
				nodes := 0
				for _, h := range heads {
					for p := h; p != nil; p = p.Next {
						nodes++
					}
				}
				// Per list: the head load; per node: value and next loads.
				if cm.loads.Load() != int64(n+2*nodes) || cm.stores.Load() != int64(n) {
					t.Fatalf("Mem saw %d loads %d stores, want %d, %d", cm.loads.Load(), cm.stores.Load(), n+2*nodes, n)
				}
			}
		}
	}
}

// TestListWalkUnderGC walks lists reachable only through the Args while the
// garbage collector runs: Args.Keep must keep every node alive.
func TestListWalkUnderGC(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 512
	heads := makeLists(r, n)
	want := RefListWalk(heads)
	out := make([]float32, n)
	a := mustBind(t, ListWalk, out, heads, n)
	heads = nil // only a.Keep references the lists now
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				_ = make([]byte, 1<<16)
			}
		}
	})
	for rep := 0; rep < 20; rep++ {
		if err := runAll(ListWalk, ListWalkRange(n), a, GroupConfig{Concurrent: rep%2 == 1}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	runtime.KeepAlive(a)
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatal("results changed under GC")
	}
}
