// Command svmrt-kbench prints, in one run, what issue 9's compiled kernels
// are measured by (package bench/kernelbench runs them; `svmrt bench` runs
// the same with the peer benchmarks):
//
//	(a) the host cost of a simgpu device access on a TLB hit, compiled
//	    kernel vs Go body (goal ≤ 2 ns);
//	(b) saxpy host ns per element on simgpu and cpu vs a plain Go loop
//	    (goals: cpu within 2× of the loop; simgpu ≥ 20× faster than the
//	    551 ns per work-item before);
//	(c) host time per page migrated by device faults, a saxpy over fresh
//	    memory (256 MiB by default; goal ≤ 20 µs; before 2.7 ms);
//	(d) kernels.MulMat compiled on cpu vs the same OpenCL C on OpenCL
//	    (PoCL here; goal: at least its speed), with the HostFast sgemm.
//
// Every configuration runs once to warm up, then -n times, the
// configurations of a section interleaved round-robin so a noisy machine
// affects them alike; the figures are medians (with the range of the runs).
// Each configuration's results are checked after its runs. OpenCL lines
// are skipped, with the reason, where OpenCL is unavailable.
// `make bench-kernels` runs it; `-small -n 1` is the CI smoke.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/svmrt/svmrt/bench"
	"github.com/svmrt/svmrt/bench/kernelbench"
)

func main() {
	def := bench.Default()
	n := flag.Int("n", 5, "timed runs per configuration (the median is printed)")
	small := flag.Bool("small", false, "small sizes for a smoke run (CI); explicit size flags still apply")
	sections := flag.String("sections", "a,b,c,d", "comma-separated sections to run")
	items := flag.Int("items", def.LoadItems, "(a) work-items")
	loads := flag.Int("loads", def.Loads, "(a) loads per work-item")
	saxpy := flag.Int("saxpy", def.SaxpyN, "(b) saxpy elements")
	fresh := flag.String("fresh", sizeFlag(def.FreshBytes), "(c) fresh memory per launch, x and y together")
	freshGo := flag.String("fresh-go", sizeFlag(def.FreshGoBytes), "(c) fresh memory for the Go-body line (0: no such line)")
	mm := flag.String("m", ints(def.MulMat), "(d) comma-separated mulmat sizes")
	goBodies := flag.Bool("go-bodies", def.GoBodies, "include the Go-body lines of (a) and (b)")
	flag.Parse()

	sz := def
	if *small {
		sz = bench.Small()
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["items"] {
		sz.LoadItems = *items
	}
	if set["loads"] {
		sz.Loads = *loads
	}
	if set["saxpy"] {
		sz.SaxpyN = *saxpy
	}
	if set["fresh"] {
		sz.FreshBytes = mustSize(*fresh)
	}
	if set["fresh-go"] {
		sz.FreshGoBytes = mustSize(*freshGo)
	}
	if set["m"] {
		sz.MulMat = parseInts(*mm)
	}
	if set["go-bodies"] {
		sz.GoBodies = *goBodies
	}
	if *n < 1 {
		fail("-n must be at least 1")
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		want[strings.TrimSpace(s)] = true
	}

	if !kernelbench.Run(os.Stdout, sz, want, *n) {
		os.Exit(1)
	}
}

func sizeFlag(b int64) string {
	switch {
	case b == 0:
		return "0"
	case b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return strconv.FormatInt(b, 10)
}

func mustSize(s string) int64 {
	v, err := bench.ParseSize(s)
	if err != nil {
		fail(err.Error())
	}
	return v
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			fail(fmt.Sprintf("bad number %q", f))
		}
		out = append(out, v)
	}
	return out
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "svmrt-kbench:", msg)
	os.Exit(2)
}
