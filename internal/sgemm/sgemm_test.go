package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func randMat(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// refMul is C = A×B in float64, the reference the float32 kernels are held to.
func refMul(m, n, k int, a []float32, lda int, b []float32, ldb int) (c, abs []float64) {
	c, abs = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, t float64
			for p := range k {
				x := float64(a[i*lda+p]) * float64(b[p*ldb+j])
				s += x
				t += math.Abs(x)
			}
			c[i*n+j], abs[i*n+j] = s, t
		}
	}
	return c, abs
}

// withKernel runs f with each kernel of this machine forced in turn.
func withKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer SetKernel("")
	for _, name := range Kernels() {
		t.Run(name, func(t *testing.T) {
			if err := SetKernel(name); err != nil {
				t.Fatal(err)
			}
			if Kernel() != name {
				t.Fatalf("Kernel() = %q after SetKernel(%q)", Kernel(), name)
			}
			f(t)
		})
	}
}

// checkMul multiplies with padded strides and compares against float64: the
// error bound is k·eps·Σ|a·b| (each of the ≤ k+1 roundings on the way costs
// at most eps times the running sum of magnitudes), and the padding of C
// must stay untouched.
func checkMul(t *testing.T, r *rand.Rand, m, n, k, workers int) []float32 {
	t.Helper()
	lda, ldb, ldc := k+3, n+5, n+2
	a, b := randMat(r, m*lda), randMat(r, k*ldb)
	c := make([]float32, m*ldc)
	for i := range c {
		c[i] = 12345 // Mul must not read C's old contents
	}
	Mul(m, n, k, a, lda, b, ldb, c, ldc, workers)
	want, abs := refMul(m, n, k, a, lda, b, ldb)
	const eps = 1.0 / (1 << 23)
	for i := range m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= n {
				if got != 12345 {
					t.Fatalf("%dx%dx%d: padding C[%d][%d] overwritten: %v", m, n, k, i, j, got)
				}
				continue
			}
			tol := float64(k+1)*eps*abs[i*n+j] + 1e-30
			if d := math.Abs(float64(got) - want[i*n+j]); d > tol || math.IsNaN(float64(got)) {
				t.Fatalf("%dx%dx%d workers=%d: C[%d][%d] = %v, want %v (|diff| %g > %g)", m, n, k, workers, i, j, got, want[i*n+j], d, tol)
			}
		}
	}
	return c
}

func TestMulSizes(t *testing.T) {
	sizes := []int{1, 3, 17, 63, 65, 129, 257}
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, s := range sizes {
			checkMul(t, r, s, s, s, 2)
		}
		// Non-square, edge tiles in every direction, k across k-blocks.
		for _, d := range [][3]int{
			{1, 300, 7}, {300, 1, 7}, {7, 1, 300}, {15, 33, 600}, {29, 65, 1},
			{2, 3, 4}, {100, 31, 513}, {45, 97, 290}, {14, 32, 8}, {13, 31, 9},
		} {
			checkMul(t, r, d[0], d[1], d[2], 2)
			checkMul(t, r, d[0], d[1], d[2], 1)
		}
	})
}

func TestMul512(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		if testing.Short() && Kernel() == "generic" {
			t.Skip("generic kernel at m=512 in -short")
		}
		checkMul(t, rand.New(rand.NewPCG(5, 6)), 512, 512, 512, runtime.GOMAXPROCS(0))
	})
}

// Small blocks force many k-blocks and B blocks (several steps, both
// buffers, the accumulate path), which the default sizes reach only for big
// matrices.
func TestMulSmallBlocking(t *testing.T) {
	defer func() { blockingOverride.kc, blockingOverride.nc = 0, 0 }()
	blockingOverride.kc, blockingOverride.nc = 16, 40
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, d := range [][3]int{{70, 90, 100}, {33, 129, 65}, {1, 1, 33}} {
			checkMul(t, r, d[0], d[1], d[2], 2)
			checkMul(t, r, d[0], d[1], d[2], 3)
		}
	})
}

// The per-element summation order depends only on the kernel and KC, not on
// how rows are split among workers: results are bit-identical.
func TestMulWorkersIdentical(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		for _, d := range [][3]int{{257, 130, 300}, {64, 64, 64}, {5, 200, 1000}} {
			var ref []float32
			for _, w := range []int{1, 2, 3, 7} {
				c := checkMul(t, rand.New(rand.NewPCG(9, 10)), d[0], d[1], d[2], w)
				if ref == nil {
					ref = c
					continue
				}
				for i := range c {
					if c[i] != ref[i] {
						t.Fatalf("%v workers=%d: C[%d] = %v, workers=1 gave %v", d, w, i, c[i], ref[i])
					}
				}
			}
		}
	})
}

func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	return f[1] // "goroutine N [running]:"
}

// Mul runs on exactly min(workers, row panels) goroutines; workers=1 on the
// caller's.
func TestMulWorkerCount(t *testing.T) {
	defer func() { testHookWorker = nil }()
	for _, c := range []struct{ m, workers, want int }{
		{300, 1, 1}, {300, 2, 2}, {300, 3, 3}, {300, 0, 1}, {1, 4, 1},
	} {
		var mu sync.Mutex
		ids := map[string]bool{}
		idx := map[int]bool{}
		testHookWorker = func(w int) {
			mu.Lock()
			defer mu.Unlock()
			ids[goid()] = true
			idx[w] = true
		}
		a, b, out := make([]float32, c.m*50), make([]float32, 50*40), make([]float32, c.m*40)
		Mul(c.m, 40, 50, a, 50, b, 40, out, 40, c.workers)
		if len(ids) != c.want || len(idx) != c.want {
			t.Errorf("m=%d workers=%d: %d goroutines (%d indices), want %d", c.m, c.workers, len(ids), len(idx), c.want)
		}
		if c.want == 1 && !ids[goid()] {
			t.Errorf("m=%d workers=%d: did not run on the calling goroutine", c.m, c.workers)
		}
	}
}

func TestMulPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Mul(4, 4, 4, make([]float32, 15), 4, make([]float32, 16), 4, make([]float32, 16), 4, 1)
}

func TestSetKernel(t *testing.T) {
	defer SetKernel("")
	if err := SetKernel("no-such"); err == nil {
		t.Fatal("SetKernel(no-such) succeeded")
	}
	if err := SetKernel("generic"); err != nil || Kernel() != "generic" {
		t.Fatalf("SetKernel(generic): %v, Kernel() = %q", err, Kernel())
	}
	SetKernel("")
	if Kernel() != Kernels()[0] {
		t.Fatalf("auto: %q, want %q", Kernel(), Kernels()[0])
	}
}

func BenchmarkMul(b *testing.B) {
	defer SetKernel("")
	for _, name := range Kernels() {
		for _, m := range []int{256, 1024, 2048} {
			if name == "generic" && m > 1024 {
				continue
			}
			for _, w := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/m=%d/workers=%d", name, m, w), func(b *testing.B) {
					if err := SetKernel(name); err != nil {
						b.Fatal(err)
					}
					r := rand.New(rand.NewPCG(1, 1))
					x, y, z := randMat(r, m*m), randMat(r, m*m), make([]float32, m*m)
					b.SetBytes(int64(3 * m * m * 4))
					b.ResetTimer()
					for b.Loop() {
						Mul(m, m, m, x, m, y, m, z, m, w)
					}
					b.ReportMetric(2*float64(m)*float64(m)*float64(m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
