package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

func bind(t testing.TB, k *kernels.Kernel, vals ...any) *kernels.Args {
	t.Helper()
	a, err := kernels.Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func TestInfo(t *testing.T) {
	d := New()
	info := d.CPU()
	t.Logf("%+v", info)
	if d.Name() != "cpu" {
		t.Errorf("Name = %q", d.Name())
	}
	if info.Threads < 1 || info.Cores < 1 || info.Cores > info.Threads {
		t.Errorf("cores %d threads %d", info.Cores, info.Threads)
	}
	if info.Name == "" || info.SIMD == "" || info.MaxWorkGroupSize != kernels.MaxWorkGroupSize {
		t.Errorf("incomplete: %+v", info)
	}
	if info.L1D < 0 || info.L2 < 0 || info.L3 < 0 {
		t.Errorf("negative cache size: %+v", info)
	}
	if runtime.GOARCH == "amd64" && !strings.Contains("AVX-512 AVX2 AVX SSE4.2 SSE2", info.SIMD) {
		t.Errorf("SIMD %q on amd64", info.SIMD)
	}
}

// libraryCase is one launch of a library kernel with its expected output.
type libraryCase struct {
	name  string
	k     *kernels.Kernel
	nd    kernels.NDRange
	args  func(t testing.TB) (*kernels.Args, func() error) // bound args and a checker
	fasts bool                                             // the kernel has a HostFast that applies
}

func libraryCases(seed uint64) []libraryCase {
	r := rand.New(rand.NewPCG(seed, 99))
	var cases []libraryCase
	for _, m := range []int{1, 33, 64, 100} {
		a, b := randF32(r, m*m), randF32(r, m*m)
		want := make([]float32, m*m)
		kernels.RefMulMat(want, a, b, m)
		cases = append(cases, libraryCase{fmt.Sprintf("MulMat/%d", m), kernels.MulMat, kernels.MulMatRange(m),
			func(t testing.TB) (*kernels.Args, func() error) {
				got := make([]float32, m*m)
				return bind(t, kernels.MulMat, got, a, b, m), func() error { return nearMulMat(got, want, m) }
			}, true})
	}
	for _, n := range []int{0, 1000, 4097} {
		x, y0 := randF32(r, n), randF32(r, n)
		want := append([]float32(nil), y0...)
		kernels.RefSaxpy(want, x, -0.25, n)
		cases = append(cases, libraryCase{fmt.Sprintf("Saxpy/%d", n), kernels.Saxpy, kernels.SaxpyRange(n),
			func(t testing.TB) (*kernels.Args, func() error) {
				y := append([]float32(nil), y0...)
				return bind(t, kernels.Saxpy, y, x, float32(-0.25), n), func() error { return equalF32(y, want) }
			}, false})
	}
	for _, n := range []int{1, 5000} {
		in := randF32(r, n)
		for _, local := range []int{64, 100} {
			nd := kernels.SumRange(n, local)
			want := kernels.RefSumReduce(in, n, local)
			cases = append(cases, libraryCase{fmt.Sprintf("SumReduce/%d/%d", n, local), kernels.SumReduce, nd,
				func(t testing.TB) (*kernels.Args, func() error) {
					partial := make([]float32, nd.TotalGroups())
					return bind(t, kernels.SumReduce, partial, in, n), func() error { return equalF32(partial, want) }
				}, true})
		}
	}
	{
		n, nbins := 10000, 37
		data := make([]uint32, n)
		for i := range data {
			data[i] = r.Uint32()
		}
		want := make([]uint32, nbins)
		kernels.RefHistogram(want, data, n)
		cases = append(cases, libraryCase{"Histogram", kernels.Histogram, kernels.HistogramRange(n),
			func(t testing.TB) (*kernels.Args, func() error) {
				bins := make([]uint32, nbins)
				return bind(t, kernels.Histogram, bins, data, n, nbins), func() error {
					if fmt.Sprint(bins) != fmt.Sprint(want) {
						return fmt.Errorf("bins %v, want %v", bins, want)
					}
					return nil
				}
			}, false})
	}
	{
		n := 700
		heads := make([]*kernels.ListNode, n)
		for i := range heads {
			for j := r.IntN(30); j > 0; j-- {
				heads[i] = &kernels.ListNode{Next: heads[i], Value: r.Float32()}
			}
		}
		want := kernels.RefListWalk(heads)
		cases = append(cases, libraryCase{"ListWalk", kernels.ListWalk, kernels.ListWalkRange(n),
			func(t testing.TB) (*kernels.Args, func() error) {
				out := make([]float32, n)
				return bind(t, kernels.ListWalk, out, heads, n), func() error { return equalF32(out, want) }
			}, false})
	}
	return cases
}

// equalF32 compares exactly: every Go path (Body and the HostFast paths in
// this library) rounds like the reference.
func equalF32(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("len %d, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// nearMulMat compares an m×m product of entries in [-1, 1) with RefMulMat's:
// the fast path may sum in another order and with FMAs, and both results are
// within m·ε·Σ|a·b| ≤ m²·ε of the exact one, so within 2m²·ε of each other.
func nearMulMat(got, want []float32, m int) error {
	if len(got) != len(want) {
		return fmt.Errorf("len %d, want %d", len(got), len(want))
	}
	tol := 2 * float64(m) * float64(m) / (1 << 24)
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
			return fmt.Errorf("[%d] = %v, want %v (|diff| %g > %g)", i, got[i], want[i], d, tol)
		}
	}
	return nil
}

func TestLibraryKernels(t *testing.T) {
	for _, fast := range []bool{true, false} {
		var opts []Option
		if !fast {
			opts = append(opts, WithoutFastPaths())
		}
		d := New(opts...)
		for _, c := range libraryCases(1) {
			t.Run(fmt.Sprintf("fast=%v/%s", fast, c.name), func(t *testing.T) {
				before := d.CPUStats()
				a, check := c.args(t)
				if err := d.Launch(context.Background(), c.k, c.nd, a); err != nil {
					t.Fatal(err)
				}
				if err := check(); err != nil {
					t.Fatal(err)
				}
				after := d.CPUStats()
				if after.Launches != before.Launches+1 {
					t.Fatalf("Launches %d -> %d", before.Launches, after.Launches)
				}
				usedFast := after.FastPathLaunches == before.FastPathLaunches+1
				if usedFast != (fast && c.fasts) {
					t.Fatalf("fast path used: %v, want %v", usedFast, fast && c.fasts)
				}
				if !usedFast {
					if after.WorkGroups-before.WorkGroups != uint64(c.nd.TotalGroups()) ||
						after.WorkItems-before.WorkItems != uint64(c.nd.GlobalSize()) {
						t.Fatalf("groups +%d items +%d, want %d and %d", after.WorkGroups-before.WorkGroups,
							after.WorkItems-before.WorkItems, c.nd.TotalGroups(), c.nd.GlobalSize())
					}
				}
				if after.HostNs <= before.HostNs {
					t.Fatal("HostNs did not grow")
				}
			})
		}
	}
}

func TestCancel(t *testing.T) {
	d := New(WithWorkers(1))
	n := 1 << 16
	y, x := make([]float32, n), make([]float32, n)
	a := bind(t, kernels.Saxpy, y, x, float32(1), n)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(n), a); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before launch: %v", err)
	}
	if s := d.CPUStats(); s.WorkGroups != 0 || s.Launches != 0 {
		t.Fatalf("work done for a cancelled launch: %+v", s)
	}

	// Cancel from inside the first work-group: with one worker exactly one
	// group runs.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	k := &kernels.Kernel{Name: "cancel", Body: func(it *kernels.Item, _ *kernels.Args) {
		if it.GroupLinear() == 0 && it.LocalLinear() == 0 {
			cancel()
		}
	}}
	nd := kernels.Range1D(1024, 64)
	if err := d.Launch(ctx, k, nd, bind(t, k)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled mid-launch: %v", err)
	}
	if s := d.CPUStats(); s.WorkGroups != 1 {
		t.Fatalf("%d groups ran after cancellation, want 1", s.WorkGroups)
	}

	// With several workers, cancellation still stops the launch early.
	d = New(WithWorkers(4))
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var ran atomic.Int64
	k = &kernels.Kernel{Name: "cancel4", Body: func(it *kernels.Item, _ *kernels.Args) {
		if it.LocalLinear() == 0 && ran.Add(1) == 3 {
			cancel()
		}
	}}
	nd = kernels.Range1D(1<<16, 16)
	if err := d.Launch(ctx, k, nd, bind(t, k)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled mid-launch with 4 workers: %v", err)
	}
	if got := d.CPUStats().WorkGroups; got >= uint64(nd.TotalGroups()) {
		t.Fatalf("all %d groups ran despite cancellation", got)
	}

	// A deadline behaves the same.
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := d.Launch(ctx, k, nd, bind(t, k)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
}

var errDevice = errors.New("test: device fault")

func TestErrors(t *testing.T) {
	d := New()
	ctx := context.Background()
	y := make([]float32, 100)

	if err := d.Launch(ctx, kernels.Saxpy, kernels.Range1D(100, 64), bind(t, kernels.Saxpy, y, y, float32(1), 100)); !errors.Is(err, kernels.ErrInvalidNDRange) || !strings.Contains(err.Error(), "saxpy") {
		t.Errorf("bad range: %v", err)
	}
	if err := d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(100), nil); !errors.Is(err, kernels.ErrBadArgs) {
		t.Errorf("nil args: %v", err)
	}
	if err := d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(100), bind(t, kernels.Histogram, []uint32{}, []uint32{}, 0, 1)); !errors.Is(err, kernels.ErrBadArgs) {
		t.Errorf("wrong args: %v", err)
	}
	if err := d.Launch(ctx, &kernels.Kernel{Name: "nobody"}, kernels.Range1D(1, 1), &kernels.Args{}); err == nil {
		t.Error("kernel without a body accepted")
	}

	boom := &kernels.Kernel{Name: "boom", Body: func(it *kernels.Item, _ *kernels.Args) {
		if it.GlobalID(0) == 777 {
			panic("boom")
		}
	}}
	var pe *kernels.PanicError
	if err := d.Launch(ctx, boom, kernels.Range1D(1024, 64), bind(t, boom)); !errors.As(err, &pe) || pe.GlobalID[0] != 777 {
		t.Errorf("panic: %v", err)
	}

	abort := &kernels.Kernel{Name: "abort", Barriers: true, Body: func(it *kernels.Item, _ *kernels.Args) {
		if it.GlobalID(0) == 300 {
			panic(&kernels.Abort{Err: errDevice})
		}
		it.Barrier()
	}}
	if err := d.Launch(ctx, abort, kernels.Range1D(1024, 128), bind(t, abort)); !errors.Is(err, errDevice) {
		t.Errorf("abort: %v", err)
	}

	badFast := &kernels.Kernel{
		Name:     "badfast",
		Body:     func(*kernels.Item, *kernels.Args) {},
		HostFast: func(kernels.NDRange, *kernels.Args, int) bool { panic("fast path bug") },
	}
	if err := d.Launch(ctx, badFast, kernels.Range1D(1, 1), bind(t, badFast)); err == nil || !strings.Contains(err.Error(), "fast path bug") {
		t.Errorf("HostFast panic: %v", err)
	}
	// Without fast paths the same kernel runs its Body.
	if err := New(WithoutFastPaths()).Launch(ctx, badFast, kernels.Range1D(1, 1), bind(t, badFast)); err != nil {
		t.Errorf("WithoutFastPaths: %v", err)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); !errors.Is(err, svm.ErrClosed) {
		t.Fatal("second Close:", err, "want ErrClosed")
	}
	if err := d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(100), bind(t, kernels.Saxpy, y, y, float32(1), 100)); !errors.Is(err, svm.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestWorkers checks that WithWorkers bounds how many groups run at once.
func TestWorkers(t *testing.T) {
	for _, w := range []int{1, 3} {
		var active, peak atomic.Int64
		k := &kernels.Kernel{Name: "peak", Body: func(it *kernels.Item, _ *kernels.Args) {
			if it.LocalLinear() != 0 {
				return
			}
			n := active.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(200 * time.Microsecond)
			active.Add(-1)
		}}
		if err := New(WithWorkers(w)).Launch(context.Background(), k, kernels.Range1D(64, 4), bind(t, k)); err != nil {
			t.Fatal(err)
		}
		if peak.Load() > int64(w) || peak.Load() < 1 {
			t.Fatalf("WithWorkers(%d): %d groups ran at once", w, peak.Load())
		}
	}
}

// TestConcurrentLaunches runs many launches of every library kernel at once
// on one device, with and without fast paths, at GOMAXPROCS 1 and 4.
func TestConcurrentLaunches(t *testing.T) {
	for _, procs := range []int{1, 4} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			devs := []*Device{New(), New(WithoutFastPaths(), WithWorkers(3))}
			cases := libraryCases(uint64(procs))
			const goroutines, perG = 12, 6
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*perG)
			for g := range goroutines {
				wg.Go(func() {
					for i := range perG {
						c := cases[(g*perG+i)%len(cases)]
						a, check := c.args(t)
						if err := devs[(g+i)%2].Launch(ctx, c.k, c.nd, a); err != nil {
							errs <- fmt.Errorf("%s: %w", c.name, err)
							continue
						}
						if err := check(); err != nil {
							errs <- fmt.Errorf("%s: %w", c.name, err)
						}
					}
				})
			}
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			select {
			case <-finished:
			case <-time.After(3 * time.Minute):
				t.Fatal("concurrent launches did not finish in time")
			}
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			total := devs[0].CPUStats().Launches + devs[1].CPUStats().Launches
			if total != goroutines*perG {
				t.Fatalf("%d launches counted, want %d", total, goroutines*perG)
			}
		})
	}
}
