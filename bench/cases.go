package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// Goals and the figures from before issue 9 they are measured against.
const (
	GoalLoadNs       = 2.0   // (a) ns per simgpu access on a TLB hit, at most
	GoalCPUSaxpy     = 2.0   // (b) cpu saxpy ns/elem at most this many times the plain loop's
	BeforeSaxpyNs    = 551.0 // (b) simgpu saxpy ns per work-item before (Go body)
	GoalSaxpySpeedup = 20.0  // (b) simgpu saxpy at least this many times faster than before
	GoalFreshUs      = 20.0  // (c) µs of host time per page migrated by device faults, at most
	BeforeFreshUs    = 2700  // (c) before: 2.7 ms per page
	GoalMulMat       = 1.0   // (d) compiled cpu mulmat at least this fraction of PoCL's GFLOP/s
)

// Sizes are the sections' problem sizes.
type Sizes struct {
	LoadItems, Loads int   // (a): work-items (a multiple of 256) and loads per work-item
	SaxpyN           int   // (b): elements
	FreshBytes       int64 // (c): bytes of fresh memory per launch, x and y together
	FreshGoBytes     int64 // (c): the same for the Go-body line (0: no such line)
	MulMat           []int // (d): matrix sizes m
	GoBodies         bool  // include the Go-body lines of (a) and (b)
}

// Default are the sizes of the full benchmark (make bench-kernels).
func Default() Sizes {
	return Sizes{LoadItems: 4096, Loads: 4096, SaxpyN: 1 << 22, FreshBytes: 256 << 20, FreshGoBytes: 4 << 20,
		MulMat: []int{256, 1024}, GoBodies: true}
}

// Small are sizes for a smoke run (CI): every line, in seconds.
func Small() Sizes {
	return Sizes{LoadItems: 1024, Loads: 256, SaxpyN: 1 << 16, FreshBytes: 8 << 20, FreshGoBytes: 256 << 10,
		MulMat: []int{128}, GoBodies: true}
}

// Sections returns the four measurements at sizes s.
func Sections(s Sizes) []Section {
	out := []Section{LoadsSection(s.LoadItems, s.Loads, s.GoBodies), SaxpySection(s.SaxpyN, s.GoBodies),
		FreshSection(s.FreshBytes, s.FreshGoBytes)}
	for _, m := range s.MulMat {
		out = append(out, MulMatSection(m))
	}
	return out
}

// Environment describes the host, the devices and the toolchain, one line
// each.
func Environment() []string {
	var lines []string
	if d, err := runtime.Open("cpu"); err == nil {
		lines = append(lines, "cpu: "+d.Info().Description)
		d.Close()
	}
	if d, err := runtime.Open("simgpu"); err == nil {
		lines = append(lines, "simgpu: "+d.Info().Description)
		d.Close()
	} else {
		lines = append(lines, "simgpu: "+err.Error())
	}
	if why := openCLSkip(); why != "" {
		lines = append(lines, "opencl: unavailable: "+why)
	} else if d, err := runtime.Open("opencl"); err == nil {
		lines = append(lines, "opencl: "+d.Info().Description)
		d.Close()
	} else {
		lines = append(lines, "opencl: "+err.Error())
	}
	if _, err := kernels.Saxpy.Compiled(); err != nil {
		lines = append(lines, "compiled kernels: unavailable, cpu and simgpu run Go bodies: "+err.Error())
	}
	if err := runtime.Degraded(); err != nil {
		lines = append(lines, "degraded mode (nothing migrates): "+err.Error())
	}
	return lines
}

// openDev opens a device for a case that must run compiled kernels (unless
// goBody), so a case never measures the Go body under the compiled name.
func openDev(name string, k *kernels.Kernel, goBody bool, opts ...runtime.Option) (*runtime.Device, error) {
	if goBody {
		opts = append(opts, runtime.WithGoBodies())
	} else if name != "opencl" {
		if _, err := k.Compiled(); err != nil {
			return nil, fmt.Errorf("%s cannot run %s compiled: %w", name, k.Name, err)
		}
	}
	return runtime.Open(name, opts...)
}

// checkCompiled fails when the cpu device ran anything but compiled
// kernels (a HostFast path or a Go body).
func checkCompiled(d *runtime.Device, wantFast bool) error {
	if d.Info().Name != "cpu" {
		return nil
	}
	st := d.Stats()
	switch {
	case wantFast && st.FastPathLaunches != st.Launches:
		return fmt.Errorf("cpu: %d of %d launches took the HostFast path", st.FastPathLaunches, st.Launches)
	case !wantFast && st.CompiledLaunches != st.Launches:
		return fmt.Errorf("cpu: %d of %d launches ran compiled OpenCL C (the rest a fast path or the Go body)",
			st.CompiledLaunches, st.Launches)
	}
	return nil
}

// --- (a) per-access cost on TLB hits --------------------------------------

// Loads is the kernel of section (a): work-item i sums loads words of buf
// starting at word i, wrapping at mask+1 words (a power of two), and
// stores the sum in out[i]. Over a one-page buf every access of a
// work-item but its first hits the TLB. The loop is not vectorized, so
// every load is one access in the device's counters.
var Loads = &kernels.Kernel{
	Name: "kbench_loads",
	Params: []kernels.Param{
		{Name: "out", Kind: kernels.PtrU32, Written: true},
		{Name: "buf", Kind: kernels.PtrU32},
		{Name: "mask", Kind: kernels.I32},
		{Name: "loads", Kind: kernels.I32},
	},
	Source: `__kernel void kbench_loads(__global uint *out, __global const uint *buf, int mask, int loads)
{
    int i = get_global_id(0);
    uint s = 0;
#pragma clang loop vectorize(disable) interleave(disable)
    for (int k = 0; k < loads; k++)
        s += buf[(i + k) & mask];
    out[i] = s;
}
`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		out, buf, mask, loads := a.Ptr(0), a.Ptr(1), int(a.I32(2)), int(a.I32(3))
		var s uint32
		for k := 0; k < loads; k++ {
			s += it.LoadU32(buf + uintptr((i+k)&mask)*4)
		}
		it.StoreU32(out+uintptr(i)*4, s)
	},
}

// loadsWords is the size of section (a)'s buf: one page of uint32.
const loadsWords = 1024

// LoadsSection is (a): Loads over items work-items (rounded up to a
// multiple of 256), loads each, on simgpu compiled and Go body, and
// compiled on cpu for reference.
func LoadsSection(items, loads int, goBodies bool) Section {
	items = max(256, (items+255)/256*256)
	s := Section{Key: "a", Title: "per-access host cost on TLB hits",
		What: fmt.Sprintf("kbench_loads: %d work-items × %d loads + 1 store over one resident page (%.1f M accesses per launch)",
			items, loads, float64(items)*float64(loads+1)/1e6),
		Unit: "ns/access"}
	s.Cases = append(s.Cases, Case{ID: "simgpu", Name: "simgpu compiled", Open: loadsCase("simgpu", false, items, loads)})
	if goBodies {
		s.Cases = append(s.Cases, Case{ID: "simgpu-go", Name: "simgpu Go body", Open: loadsCase("simgpu", true, items, loads)})
	}
	s.Cases = append(s.Cases, Case{ID: "cpu", Name: "cpu compiled (no MMU)", Open: loadsCase("cpu", false, items, loads)})
	return s
}

func loadsCase(dev string, goBody bool, items, loads int) func(context.Context) (*Runner, error) {
	return func(ctx context.Context) (*Runner, error) {
		d, err := openDev(dev, Loads, goBody)
		if err != nil {
			return nil, err
		}
		bm, err := mapBytes(loadsWords * 4)
		if err != nil {
			d.Close()
			return nil, err
		}
		om, err := mapBytes(items * 4)
		if err != nil {
			d.Close()
			bm.unmap()
			return nil, err
		}
		buf, out := bm.u32(loadsWords), om.u32(items)
		for j := range buf {
			buf[j] = uint32(j) * 2654435761
		}
		want := make([]uint32, items)
		for i := range want {
			for k := 0; k < loads; k++ {
				want[i] += buf[(i+k)&(loadsWords-1)]
			}
		}
		nd := kernels.Range1D(items, 256)
		simulated := dev == "simgpu"
		return &Runner{
			Note: d.Name(),
			Run: func(ctx context.Context) (Sample, error) {
				el, st, err := timed(d, func() error {
					return d.Run(ctx, Loads, nd, out, buf, int32(loadsWords-1), int32(loads))
				})
				units := float64(items) * float64(loads+1)
				if simulated {
					units = float64(st.TLBHits + st.TLBMisses) // accesses as the device counted them
				}
				return Sample{Elapsed: el, Units: units, Stats: st}, err
			},
			Check: func() error {
				if !goBody {
					if err := checkCompiled(d, false); err != nil {
						return err
					}
				}
				for i, w := range want {
					if out[i] != w {
						return fmt.Errorf("kbench_loads on %s: out[%d] = %d, want %d", d.Name(), i, out[i], w)
					}
				}
				return nil
			},
			Close: func() error { return errors.Join(d.Close(), unmapAll(bm, om)) },
		}, nil
	}
}

// --- (b) saxpy on warm memory -----------------------------------------------

const saxpyAlpha = 0.5

func saxpyInit(x, y []float32) {
	for i := range x {
		x[i], y[i] = float32(i%1000)/1000, 1
	}
}

// SaxpySection is (b): kernels.Saxpy over n elements, memory warm (on
// simgpu: device-resident after the first launch).
func SaxpySection(n int, goBodies bool) Section {
	s := Section{Key: "b", Title: "saxpy host time per element, warm memory",
		What: fmt.Sprintf("kernels.Saxpy: y = %g·x + y, n = %d (%d MiB per vector)", saxpyAlpha, n, n*4>>20),
		Unit: "ns/elem"}
	s.Cases = append(s.Cases,
		Case{ID: "plain", Name: "plain Go loop (1 goroutine)", Open: saxpyCase("", false, n)},
		Case{ID: "cpu", Name: "cpu compiled", Open: saxpyCase("cpu", false, n)})
	if goBodies {
		s.Cases = append(s.Cases, Case{ID: "cpu-go", Name: "cpu Go body", Open: saxpyCase("cpu", true, n)})
	}
	s.Cases = append(s.Cases, Case{ID: "simgpu", Name: "simgpu compiled", Open: saxpyCase("simgpu", false, n)})
	if goBodies {
		s.Cases = append(s.Cases, Case{ID: "simgpu-go", Name: "simgpu Go body (before)", Open: saxpyCase("simgpu", true, n)})
	}
	s.Cases = append(s.Cases, Case{ID: "opencl", Name: "opencl (reference)", Skip: openCLSkip(), Open: saxpyCase("opencl", false, n)})
	return s
}

func saxpyCase(dev string, goBody bool, n int) func(context.Context) (*Runner, error) {
	return func(ctx context.Context) (*Runner, error) {
		var d *runtime.Device
		if dev != "" {
			var err error
			if d, err = openDev(dev, kernels.Saxpy, goBody, runtime.WithVRAM(max(256<<20, 4*int64(n)*4))); err != nil {
				return nil, err
			}
		}
		closeDev := func() error {
			if d != nil {
				return d.Close()
			}
			return nil
		}
		xm, err := mapBytes(n * 4)
		if err != nil {
			closeDev()
			return nil, err
		}
		ym, err := mapBytes(n * 4)
		if err != nil {
			closeDev()
			xm.unmap()
			return nil, err
		}
		x, y := xm.f32(n), ym.f32(n)
		saxpyInit(x, y)
		runs := 0
		note := "host"
		if d != nil {
			note = d.Name()
		}
		return &Runner{
			Note: note,
			Run: func(ctx context.Context) (Sample, error) {
				el, st, err := timed(d, func() error {
					if d == nil {
						kernels.RefSaxpy(y, x, saxpyAlpha, n)
						return nil
					}
					return runtime.Saxpy(ctx, d, y, x, saxpyAlpha)
				})
				if err == nil {
					runs++
				}
				return Sample{Elapsed: el, Units: float64(n), Stats: st}, err
			},
			Check: func() error {
				if d != nil && !goBody {
					if err := checkCompiled(d, false); err != nil {
						return err
					}
				}
				wx, wy := make([]float32, n), make([]float32, n)
				saxpyInit(wx, wy)
				for range runs {
					kernels.RefSaxpy(wy, wx, saxpyAlpha, n)
				}
				for i := range wy {
					if y[i] != wy[i] {
						return fmt.Errorf("saxpy on %s after %d runs: y[%d] = %g, want %g", note, runs, i, y[i], wy[i])
					}
				}
				return nil
			},
			Close: func() error { return errors.Join(closeDev(), unmapAll(xm, ym)) },
		}, nil
	}
}

// --- (c) device faults on fresh memory ----------------------------------------

// FreshSection is (c): a saxpy on simgpu over x and y freshly mapped and
// filled by the CPU before every launch, bytes of them in all; the figure
// is the launch's host time per page migrated (pages H→D in the device's
// counters). goBytes > 0 adds the Go body's line at that size.
func FreshSection(bytes, goBytes int64) Section {
	s := Section{Key: "c", Title: "host time per page migrated by device faults",
		What: fmt.Sprintf("kernels.Saxpy on simgpu over fresh memory (x and y %s each, filled by the CPU before each launch; demand policy)",
			sizeString(bytes/2)),
		Unit: "µs/page"}
	s.Cases = append(s.Cases, Case{ID: "simgpu", Name: "simgpu compiled, " + sizeString(bytes), Open: freshCase(false, bytes)})
	if goBytes > 0 {
		s.Cases = append(s.Cases, Case{ID: "simgpu-go", Name: "simgpu Go body (before), " + sizeString(goBytes), Open: freshCase(true, goBytes)})
	}
	return s
}

func freshCase(goBody bool, bytes int64) func(context.Context) (*Runner, error) {
	return func(ctx context.Context) (*Runner, error) {
		n := int(bytes / 8)
		// Room for both vectors and then some: the figure is the cost of
		// faults and migration, not of evictions.
		vram := 2*bytes + 64<<20
		d, err := openDev("simgpu", kernels.Saxpy, goBody, runtime.WithVRAM(vram))
		if err != nil {
			return nil, err
		}
		var xm, ym *mapping
		var x, y []float32
		var checkErr error
		setup := func(n int) error {
			var err error
			if xm, err = mapBytes(n * 4); err != nil {
				return err
			}
			if ym, err = mapBytes(n * 4); err != nil {
				return err
			}
			x, y = xm.f32(n), ym.f32(n)
			saxpyInit(x, y) // the CPU writes every page: they are the host's
			return nil
		}
		teardown := func() error {
			err := unmapAll(xm, ym)
			svm.Default().Sync() // the device has dropped the unmapped pages before the next launch starts its clock
			return err
		}
		r := &Runner{Note: d.Name()}
		r.Setup = func() error { return setup(n) }
		r.Run = func(ctx context.Context) (Sample, error) {
			el, st, err := timed(d, func() error { return runtime.Saxpy(ctx, d, y, x, saxpyAlpha) })
			return Sample{Elapsed: el, Units: float64(st.PagesH2D), Stats: st}, err
		}
		r.Teardown = teardown
		// Warm up (build, SMs) on 1 MiB of fresh memory, not the full size,
		// and check the result there: reading y brings its pages home.
		r.Warm = func(ctx context.Context) error {
			wn := min(n, 1<<17)
			if err := setup(wn); err != nil {
				return err
			}
			if _, err := r.Run(ctx); err != nil {
				teardown()
				return err
			}
			for i := range wn {
				if want := float32(saxpyAlpha*x[i]) + 1; y[i] != want {
					checkErr = fmt.Errorf("fresh saxpy on %s: y[%d] = %g, want %g", d.Name(), i, y[i], want)
					break
				}
			}
			return teardown()
		}
		r.Check = func() error { return checkErr }
		r.Close = func() error { return errors.Join(d.Close(), unmapAll(xm, ym)) }
		return r, nil
	}
}

func sizeString(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d B", b)
}

// --- (d) mulmat: compiled cpu vs PoCL -----------------------------------------

// MulMatSection is (d): kernels.MulMat on m×m matrices: its OpenCL C
// compiled on cpu (fast paths off), the same source on OpenCL, and the cpu
// device's HostFast sgemm.
func MulMatSection(m int) Section {
	return Section{Key: "d", Title: "mulmat: compiled OpenCL C on cpu vs the same source on OpenCL",
		What: fmt.Sprintf("kernels.MulMat (gpu_mul_mat), m = %d, %s groups (%.2f GFLOP per launch)",
			m, groupString(kernels.MulMatRange(m)), 2*math.Pow(float64(m), 3)/1e9),
		Size: fmt.Sprintf("m = %d", m),
		Unit: "GFLOP/s",
		Cases: []Case{
			{ID: "cpu", Name: "cpu compiled (WithoutFastPaths)", Open: mulMatCase("cpu", m, runtime.WithoutFastPaths())},
			{ID: "opencl", Name: "opencl, same source", Skip: openCLSkip(), Open: mulMatCase("opencl", m)},
			{ID: "cpu-fast", Name: "cpu HostFast sgemm (reference)", Open: mulMatCase("cpu-fast", m)},
		}}
}

func groupString(nd kernels.NDRange) string {
	return fmt.Sprintf("%d×%d", nd.Local[0], nd.Local[1])
}

func mulMatCase(dev string, m int, opts ...runtime.Option) func(context.Context) (*Runner, error) {
	return func(ctx context.Context) (*Runner, error) {
		fast := dev == "cpu-fast"
		name := strings.TrimSuffix(dev, "-fast")
		d, err := openDev(name, kernels.MulMat, false, opts...)
		if err != nil {
			return nil, err
		}
		var ms [3]*mapping
		for i := range ms {
			if ms[i], err = mapBytes(m * m * 4); err != nil {
				d.Close()
				unmapAll(ms[:]...)
				return nil, err
			}
		}
		r, a, b := ms[0].f32(m*m), ms[1].f32(m*m), ms[2].f32(m*m)
		rng := rand.New(rand.NewPCG(uint64(m), 9))
		for i := range a {
			a[i], b[i] = float32(rng.Float64()*2-1), float32(rng.Float64()*2-1)
		}
		flop := 2 * float64(m) * float64(m) * float64(m)
		return &Runner{
			Note: d.Name(),
			Run: func(ctx context.Context) (Sample, error) {
				el, st, err := timed(d, func() error { return runtime.MulMat(ctx, d, r, a, b, m) })
				return Sample{Elapsed: el, Units: flop, Stats: st}, err
			},
			Check: func() error {
				if err := checkCompiled(d, fast); err != nil {
					return err
				}
				return checkMulMat(d.Name(), r, a, b, m, !fast)
			},
			Close: func() error { return errors.Join(d.Close(), unmapAll(ms[:]...)) },
		}, nil
	}
}

// checkMulMat compares 64 sampled entries of r with the in-order float32
// sum MulMat's source computes: bit for bit when exact (compiled code with
// FP_CONTRACT OFF), else within the k·ε·Σ|a·b| bound.
func checkMulMat(dev string, r, a, b []float32, m int, exact bool) error {
	rng := rand.New(rand.NewPCG(7, uint64(m)))
	for range 64 {
		i, j := rng.IntN(m), rng.IntN(m)
		var sum float32
		var mag float64
		for k := 0; k < m; k++ {
			p := float32(a[i*m+k] * b[k*m+j])
			sum += p
			mag += math.Abs(float64(p))
		}
		got := r[i*m+j]
		if exact && got != sum {
			return fmt.Errorf("mulmat on %s: r[%d][%d] = %g, want %g bit for bit", dev, i, j, got, sum)
		}
		if tol := 2 * float64(m) * 0x1p-24 * mag; math.Abs(float64(got)-float64(sum)) > tol {
			return fmt.Errorf("mulmat on %s: r[%d][%d] = %g, want %g ± %g", dev, i, j, got, sum, tol)
		}
	}
	return nil
}
