// Command svmrt-bench prints svmrt beside its peers in one run, with
// ratios (package bench/peerbench measures; `svmrt bench` runs the same
// with the kernel benchmarks); `make bench-peers` runs it. Two sections
// (-sections):
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
//     after a round trip) beside copy() of resident memory.
//
// The figures are medians of -n runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/svmrt/svmrt/bench/peerbench"
)

func main() {
	n := flag.Int("n", 5, "timed runs per configuration (the median is printed)")
	small := flag.Bool("small", false, "m=256 only (for CI)")
	sizesFlag := flag.String("m", joinInts(peerbench.SgemmSizes), "comma-separated matrix sizes m (m×m · m×m)")
	threadsFlag := flag.String("threads", joinInts(peerbench.SgemmThreads), "comma-separated thread counts")
	noGonum := flag.Bool("no-gonum", false, "skip the gonum peer")
	sections := flag.String("sections", "sgemm,movement", "comma-separated sections: sgemm (vs OpenBLAS and gonum), movement (page movement vs copy())")
	flag.Parse()
	sizes, threads := ints(*sizesFlag), ints(*threadsFlag)
	mv := peerbench.DefaultMovement(*n)
	if *small {
		sizes = peerbench.SmallSgemmSizes
		mv = peerbench.SmallMovement(*n)
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
		peerbench.Sgemm(os.Stdout, sizes, threads, *n, *noGonum)
	}
	if want["movement"] {
		if want["sgemm"] {
			fmt.Println()
		}
		if err := peerbench.Movement(os.Stdout, mv); err != nil {
			fmt.Fprintln(os.Stderr, "svmrt-bench:", err)
			os.Exit(1)
		}
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
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
