package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/svmrt/svmrt/bench"
	"github.com/svmrt/svmrt/bench/kernelbench"
	"github.com/svmrt/svmrt/bench/peerbench"
)

// benchSections are svmrt bench's sections, in the order they run: issue
// 9's kernel measurements (a–d, package bench), then issue 13's peers.
var benchSections = []string{"a", "b", "c", "d", "sgemm", "movement"}

// benchCmd runs the project's benchmarks beside their peers in one run —
// compiled kernels beside the Go loop, Go bodies and PoCL (a–d), the cpu
// sgemm beside OpenBLAS and gonum, page movement beside copy() — printing
// ratios and each goal's verdict. The same as svmrt-kbench and svmrt-bench
// one after the other, with the sizes -small picks for both.
func benchCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	n := fs.Int("n", 3, "timed runs per configuration (medians are printed)")
	small := fs.Bool("small", false, "small sizes (a smoke run: seconds, not minutes)")
	sections := fs.String("sections", strings.Join(benchSections, ","), "comma-separated sections: "+strings.Join(benchSections, ", "))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: svmrt bench [-n 3] [-small] [-sections a,b,c,d,sgemm,movement]

Runs svmrt's benchmarks beside their peers in one run and prints ratios and
goal verdicts: (a) a simulated GPU access on a TLB hit, (b) saxpy on every
device vs a plain Go loop, (c) host time per page migrated by device faults,
(d) compiled mulmat on cpu vs PoCL; sgemm vs OpenBLAS and gonum; page
movement vs copy(). The full sizes take several minutes on two cores.
OpenBLAS is in builds with -tags openblas (go run -tags openblas ./cmd/svmrt bench).`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, ""); !ok {
		return code
	}
	if *n < 1 {
		fmt.Fprintln(stderr, "svmrt bench: -n must be at least 1")
		return 2
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(benchSections, s) {
			fmt.Fprintf(stderr, "svmrt bench: unknown section %q (sections: %s)\n", s, strings.Join(benchSections, ", "))
			return 2
		}
		want[s] = true
	}
	start := time.Now()
	ok := true
	progress := func(what string) {
		fmt.Fprintf(stderr, "[%s] svmrt bench: %s\n", time.Since(start).Round(time.Second), what)
	}
	kernels := map[string]bool{}
	for _, k := range []string{"a", "b", "c", "d"} {
		if want[k] {
			kernels[k] = true
		}
	}
	if len(kernels) > 0 {
		sz := bench.Default()
		if *small {
			sz = bench.Small()
		}
		progress("kernel sections " + strings.Join(slices.Sorted(maps.Keys(kernels)), ","))
		ok = kernelbench.Run(stdout, sz, kernels, *n) && ok
	}
	if want["sgemm"] {
		progress("sgemm beside OpenBLAS and gonum")
		fmt.Fprintln(stdout)
		sizes := peerbench.SgemmSizes
		if *small {
			sizes = peerbench.SmallSgemmSizes
		}
		peerbench.Sgemm(stdout, sizes, peerbench.SgemmThreads, *n, false)
	}
	if want["movement"] {
		progress("page movement beside copy()")
		fmt.Fprintln(stdout)
		mv := peerbench.DefaultMovement(*n)
		if *small {
			mv = peerbench.SmallMovement(*n)
		}
		if err := peerbench.Movement(stdout, mv); err != nil {
			fmt.Fprintln(stderr, "svmrt bench:", err)
			ok = false
		}
	}
	progress("done")
	if !ok {
		return 1
	}
	return 0
}
