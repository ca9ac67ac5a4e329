// Package peerbench measures svmrt beside its peers and prints the figures
// with ratios (issue 13's goals): the cpu device's sgemm beside OpenBLAS
// and gonum (Sgemm), and pages moving between host memory and a simulated
// GPU beside copy() of resident memory (Movement). cmd/svmrt-bench
// (`make bench-peers`) and `svmrt bench` run it.
package peerbench

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/svmrt/svmrt/bench"
	"github.com/svmrt/svmrt/internal/peers/openblas"
	"github.com/svmrt/svmrt/internal/sgemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The sgemm section's sizes m and thread counts: the full run's and the
// smoke run's (CI).
var (
	SgemmSizes      = []int{1024, 2048}
	SmallSgemmSizes = []int{256}
	SgemmThreads    = []int{1, 2}
)

// Sgemm prints the cpu device's sgemm (internal/sgemm, the kernel behind
// kernels.MulMat's HostFast path) beside OpenBLAS's cblas_sgemm (in builds
// with -tags openblas) and gonum's pure-Go Sgemm, at each size m (m×m ·
// m×m) and thread count, with the ratios. Each configuration runs once to
// warm up, then n times, the peers interleaved round-robin so a noisy
// machine affects them alike; figures are medians.
func Sgemm(w io.Writer, sizes, threads []int, n int, noGonum bool) {
	fmt.Fprintf(w, "svmrt sgemm kernel: %s (available: %s), blocking %+v\n",
		sgemm.Kernel(), strings.Join(sgemm.Kernels(), ", "), sgemm.CurrentBlocking())
	if openblas.Available {
		fmt.Fprintf(w, "OpenBLAS: core %s; config %s\n", openblas.CoreName(), strings.TrimSpace(openblas.Config()))
	} else {
		fmt.Fprintln(w, "OpenBLAS: not in this build (build with -tags openblas)")
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENBLAS") {
			fmt.Fprintln(w, "env:", kv)
		}
	}
	fmt.Fprintf(w, "GOMAXPROCS %d, NumCPU %d, %d runs per figure (median)\n\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), n)
	fmt.Fprintf(w, "%6s %3s  %12s %12s %12s  %10s %10s  %s\n", "m", "thr", "svmrt GF/s", "OpenBLAS", "gonum", "/OpenBLAS", "/gonum", "max rel diff vs OpenBLAS")

	procs := runtime.GOMAXPROCS(0)
	for _, m := range sizes {
		r := rand.New(rand.NewPCG(uint64(m), 1))
		a, b := randMat(r, m*m), randMat(r, m*m)
		cs, co, cg := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
		flop := 2 * float64(m) * float64(m) * float64(m)
		for _, t := range threads {
			type peer struct {
				on   bool
				run  func()
				gfps []float64
			}
			impl := gonum.Implementation{}
			peers := []*peer{
				{on: true, run: func() { sgemm.Mul(m, m, m, a, m, b, m, cs, m, t) }},
				{on: openblas.Available, run: func() { openblas.Mul(m, m, m, a, m, b, m, co, m) }},
				{on: !noGonum, run: func() {
					// gonum parallelises over GOMAXPROCS.
					runtime.GOMAXPROCS(t)
					impl.Sgemm(blas.NoTrans, blas.NoTrans, m, m, m, 1, a, m, b, m, 0, cg, m)
					runtime.GOMAXPROCS(procs)
				}},
			}
			openblas.SetThreads(t)
			for i := -1; i < n; i++ { // run -1 warms up
				for _, p := range peers {
					if !p.on {
						continue
					}
					start := time.Now()
					p.run()
					if i >= 0 {
						p.gfps = append(p.gfps, flop/time.Since(start).Seconds()/1e9)
					}
				}
			}
			med := make([]float64, len(peers))
			for i, p := range peers {
				med[i] = math.NaN()
				if p.on {
					med[i] = bench.Median(p.gfps)
				}
			}
			diff := "-"
			if openblas.Available {
				diff = fmt.Sprintf("%.1e", maxRelDiff(cs, co))
			}
			fmt.Fprintf(w, "%6d %3d  %12.1f %12s %12s  %10s %10s  %s\n", m, t, med[0],
				num(med[1]), num(med[2]), ratio(med[0], med[1]), ratio(med[0], med[2]), diff)
		}
	}
}

func randMat(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(a, b float64) string {
	if math.IsNaN(b) || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// maxRelDiff is max |x-y| / max|y| over the matrix.
func maxRelDiff(x, y []float32) float64 {
	var d, s float64
	for i := range x {
		d = max(d, math.Abs(float64(x[i])-float64(y[i])))
		s = max(s, math.Abs(float64(y[i])))
	}
	return d / s
}
