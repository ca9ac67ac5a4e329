// Command svmrt-bench prints svmrt beside its peers in one run, with
// ratios; `make bench-peers` runs it. Two sections (-sections):
//
//   - sgemm: the cpu device's sgemm (internal/sgemm, the kernel behind
//     kernels.MulMat's HostFast path) beside OpenBLAS's cblas_sgemm (when
//     built with -tags openblas) and gonum's pure-Go Sgemm, at the same
//     thread counts. Each configuration runs once to warm up, then -n
//     times, the peers interleaved round-robin so a noisy machine affects
//     them alike.
//   - movement: pages moving between host memory and the simulated GPU
//     (CPU faults bringing them home, sequentially by one and two readers
//     and in random order; Device.Migrate host→device; the resident set
//     after a round trip) beside copy() of resident memory (movement.go).
//
// The figures are medians of -n runs.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svmrt/svmrt/internal/peers/openblas"
	"github.com/svmrt/svmrt/internal/sgemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func main() {
	n := flag.Int("n", 5, "timed runs per configuration (the median is printed)")
	small := flag.Bool("small", false, "m=256 only (for CI)")
	sizesFlag := flag.String("m", "1024,2048", "comma-separated matrix sizes m (m×m · m×m)")
	threadsFlag := flag.String("threads", "1,2", "comma-separated thread counts")
	noGonum := flag.Bool("no-gonum", false, "skip the gonum peer")
	sections := flag.String("sections", "sgemm,movement", "comma-separated sections: sgemm (vs OpenBLAS and gonum), movement (page movement vs copy())")
	flag.Parse()
	sizes, threads := ints(*sizesFlag), ints(*threadsFlag)
	mv := movementConfig{bytes: 256 << 20, rssBytes: 1 << 30, faults: 4096, runs: *n}
	if *small {
		sizes = []int{256}
		mv = movementConfig{bytes: 16 << 20, rssBytes: 64 << 20, faults: 512, runs: *n}
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(*sections, ",") {
		switch s = strings.TrimSpace(s); s {
		case "sgemm", "movement":
			want[s] = true
		default:
			fmt.Fprintf(os.Stderr, "svmrt-bench: unknown section %q (sgemm, movement)\n", s)
			os.Exit(2)
		}
	}
	if want["sgemm"] {
		runSgemm(sizes, threads, *n, *noGonum)
	}
	if want["movement"] {
		if want["sgemm"] {
			fmt.Println()
		}
		if err := runMovement(mv); err != nil {
			fmt.Fprintln(os.Stderr, "svmrt-bench:", err)
			os.Exit(1)
		}
	}
}

func runSgemm(sizes, threads []int, n int, noGonum bool) {

	fmt.Printf("svmrt sgemm kernel: %s (available: %s), blocking %+v\n",
		sgemm.Kernel(), strings.Join(sgemm.Kernels(), ", "), sgemm.CurrentBlocking())
	if openblas.Available {
		fmt.Printf("OpenBLAS: core %s; config %s\n", openblas.CoreName(), strings.TrimSpace(openblas.Config()))
	} else {
		fmt.Println("OpenBLAS: not in this build (build with -tags openblas)")
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENBLAS") {
			fmt.Println("env:", kv)
		}
	}
	fmt.Printf("GOMAXPROCS %d, NumCPU %d, %d runs per figure (median)\n\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), n)
	fmt.Printf("%6s %3s  %12s %12s %12s  %10s %10s  %s\n", "m", "thr", "svmrt GF/s", "OpenBLAS", "gonum", "/OpenBLAS", "/gonum", "max rel diff vs OpenBLAS")

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
					med[i] = median(p.gfps)
				}
			}
			diff := "-"
			if openblas.Available {
				diff = fmt.Sprintf("%.1e", maxRelDiff(cs, co))
			}
			fmt.Printf("%6d %3d  %12.1f %12s %12s  %10s %10s  %s\n", m, t, med[0],
				num(med[1]), num(med[2]), ratio(med[0], med[1]), ratio(med[0], med[2]), diff)
		}
	}
}

func ints(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "svmrt-bench: bad number %q\n", f)
			os.Exit(2)
		}
		out = append(out, v)
	}
	return out
}

func randMat(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
