// Package kernelbench runs what issue 9's compiled kernels are measured by
// and prints it (package bench has the measurements and their goals):
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
// Every configuration runs once to warm up, then n times, the
// configurations of a section interleaved round-robin so a noisy machine
// affects them alike; the figures are medians (with the range of the runs).
// Each configuration's results are checked after its runs. OpenCL lines
// are skipped, with the reason, where OpenCL is unavailable.
// cmd/svmrt-kbench (`make bench-kernels`) and `svmrt bench` run it.
package kernelbench

import (
	"context"
	"fmt"
	"io"
	"math"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/svmrt/svmrt/bench"
)

// Run runs the sections of sz whose keys are in want, n timed runs per
// configuration, printing each section's table and then its goals to w. It reports whether every configuration ran and
// passed its check (a missed goal is no failure).
func Run(w io.Writer, sz bench.Sizes, want map[string]bool, n int) bool {
	fmt.Fprintf(w, "kernel benchmarks (issue 9): %d timed runs per line (median, [min – max]), configurations interleaved round-robin\n", n)
	fmt.Fprintf(w, "GOMAXPROCS %d, NumCPU %d\n", goruntime.GOMAXPROCS(0), goruntime.NumCPU())
	for _, l := range bench.Environment() {
		fmt.Fprintln(w, l)
	}
	var goals []goal
	ok := true
	start := time.Now()
	for _, s := range bench.Sections(sz) {
		if !want[s.Key] {
			continue
		}
		res, sok := runSection(w, s, n)
		ok = ok && sok
		goals = append(goals, printGoals(w, s, res)...)
	}
	fmt.Fprintf(w, "\ngoals (%s in all)\n", time.Since(start).Round(time.Second))
	for _, g := range goals {
		fmt.Fprintf(w, "  %-7s %s\n", g.verdict, g.text)
	}
	return ok
}

// result is one configuration's runs.
type result struct {
	c       bench.Case
	err     error // open, warm-up, a run or the check failed
	note    string
	samples []bench.Sample
	vals    []float64
}

func (r *result) ok() bool { return r.err == nil && len(r.vals) > 0 }
func (r *result) median() float64 {
	if !r.ok() {
		return math.NaN()
	}
	return bench.Median(r.vals)
}

// runSection opens every case, warms each up, runs them round-robin n
// times, checks and closes them, and prints the table.
func runSection(w io.Writer, s bench.Section, n int) (map[string]*result, bool) {
	ctx := context.Background()
	fmt.Fprintf(w, "\n(%s) %s\n    %s\n", s.Key, s.Title, s.What)
	t0 := time.Now()
	res := map[string]*result{}
	var order []*result
	runners := map[string]*bench.Runner{}
	for _, c := range s.Cases {
		r := &result{c: c}
		res[c.ID], order = r, append(order, r)
		if c.Skip != "" {
			continue
		}
		run, err := c.Open(ctx)
		if err == nil {
			err = run.WarmUp(ctx)
			if err != nil {
				run.Close()
			}
		}
		if err != nil {
			r.err = err
			continue
		}
		r.note, runners[c.ID] = run.Note, run
	}
	for range n {
		for _, r := range order {
			run := runners[r.c.ID]
			if run == nil || r.err != nil {
				continue
			}
			x, err := run.Once(ctx)
			if err != nil {
				r.err = err
				continue
			}
			r.samples = append(r.samples, x)
			r.vals = append(r.vals, s.Value(x))
		}
	}
	allOK := true
	for _, r := range order {
		run := runners[r.c.ID]
		if run == nil {
			continue
		}
		if r.err == nil {
			if err := run.Check(); err != nil {
				r.err = fmt.Errorf("check: %w", err)
			}
		}
		if err := run.Close(); err != nil && r.err == nil {
			r.err = fmt.Errorf("close: %w", err)
		}
	}

	ratioHead, ratioOf := ratioColumn(s, res)
	fmt.Fprintf(w, "    %-40s %12s  %-21s %10s  %s\n", "configuration", s.Unit, "[min – max]", ratioHead, "detail")
	for _, r := range order {
		switch {
		case r.c.Skip != "":
			fmt.Fprintf(w, "    %-40s %12s  skipped: %s\n", r.c.Name, "-", r.c.Skip)
		case r.err != nil:
			allOK = false
			fmt.Fprintf(w, "    %-40s %12s  ERROR: %v\n", r.c.Name, "-", r.err)
		default:
			lo, hi := slices.Min(r.vals), slices.Max(r.vals)
			fmt.Fprintf(w, "    %-40s %12s  %-21s %10s  %s\n", r.c.Name, num(r.median()),
				"["+num(lo)+" – "+num(hi)+"]", ratioOf(r), detail(s, r))
		}
	}
	fmt.Fprintf(w, "    (%s)\n", time.Since(t0).Round(100*time.Millisecond))
	return res, allOK
}

// ratioColumn is the section's comparison column: each line against the
// reference configuration.
func ratioColumn(s bench.Section, res map[string]*result) (string, func(*result) string) {
	refID, head := "", ""
	switch s.Key {
	case "a":
		refID, head = "cpu", "× cpu"
	case "b":
		refID, head = "plain", "× plain"
	case "c":
		return "× goal", func(r *result) string { return ratio(r.median(), bench.GoalFreshUs) }
	case "d":
		refID, head = "opencl", "× opencl"
	}
	ref := res[refID]
	return head, func(r *result) string {
		if ref == nil || !ref.ok() {
			return "-"
		}
		return ratio(r.median(), ref.median())
	}
}

// detail is what else a line's runs show: the counters that say the
// figure measures what it claims to.
func detail(s bench.Section, r *result) string {
	var st bench.Sample
	for _, x := range r.samples {
		st.Elapsed += x.Elapsed
		st.Units += x.Units
		st.Stats = bench.AddStats(st.Stats, x.Stats)
	}
	k := float64(len(r.samples))
	msPer := fmt.Sprintf("%.1f ms/launch", float64(st.Elapsed.Microseconds())/1e3/k)
	c := st.Stats
	switch s.Key {
	case "a":
		if acc := c.TLBHits + c.TLBMisses; acc > 0 {
			return fmt.Sprintf("%s, %.1f M accesses counted, TLB hits %.3f %%", msPer, float64(acc)/k/1e6, 100*float64(c.TLBHits)/float64(acc))
		}
		return msPer + ", accesses: nominal (no MMU)"
	case "b":
		if strings.HasPrefix(r.c.ID, "simgpu") {
			return fmt.Sprintf("%s, %d faults, TLB misses %d/launch", msPer, c.DeviceFaults, int64(float64(c.TLBMisses)/k))
		}
		return msPer
	case "c":
		pages := float64(c.PagesH2D) / k
		per := 0.0
		if c.FaultBatches > 0 {
			per = float64(c.PagesH2D) / float64(c.FaultBatches)
		}
		return fmt.Sprintf("%.0f ms/launch, %.0f pages, %.0f faults, %.0f batches (%.1f pages/batch), %d evictions/launch",
			float64(st.Elapsed.Milliseconds())/k, pages, float64(c.DeviceFaults)/k, float64(c.FaultBatches)/k, per, c.Evictions/int64(k))
	}
	return msPer + ", result checked"
}

type goal struct{ verdict, text string }

// printGoals prints the section's goals with how far each is from met.
func printGoals(w io.Writer, s bench.Section, res map[string]*result) []goal {
	med := func(id string) (float64, string) {
		r := res[id]
		switch {
		case r == nil:
			return math.NaN(), "not run"
		case r.c.Skip != "":
			return math.NaN(), "skipped: " + r.c.Skip
		case !r.ok():
			return math.NaN(), fmt.Sprintf("failed: %v", r.err)
		}
		return r.median(), ""
	}
	var out []goal
	add := func(label string, v float64, why string, met bool, text string) {
		g := goal{text: label + ": "}
		switch {
		case why != "":
			g.verdict, g.text = "n/a", g.text+why
		case met:
			g.verdict, g.text = "MET", g.text+text
		default:
			g.verdict, g.text = "MISSED", g.text+text
		}
		out = append(out, g)
		fmt.Fprintf(w, "    goal  %-7s %s\n", g.verdict, g.text)
	}
	switch s.Key {
	case "a":
		v, why := med("simgpu")
		text := fmt.Sprintf("%s ns/access (goal ≤ %g: %s)", num(v), bench.GoalLoadNs, missBy(v/bench.GoalLoadNs))
		if gv, gwhy := med("simgpu-go"); gwhy == "" {
			text += fmt.Sprintf("; %s faster than the Go body (%s ns)", times(gv/v), num(gv))
		}
		if cv, cwhy := med("cpu"); cwhy == "" {
			text += fmt.Sprintf("; %s the native access (%s ns)", times(v/cv), num(cv))
		}
		add("(a) simgpu compiled access on a TLB hit", v, why, v <= bench.GoalLoadNs, text)
	case "b":
		c, cwhy := med("cpu")
		p, pwhy := med("plain")
		if cwhy == "" {
			cwhy = pwhy
		}
		add("(b) cpu saxpy vs plain Go loop", c, cwhy, c/p <= bench.GoalCPUSaxpy,
			fmt.Sprintf("%s ns/elem = %s the loop's %s (goal ≤ %g×: %s)", num(c), times(c/p), num(p), bench.GoalCPUSaxpy,
				missBy(c/p/bench.GoalCPUSaxpy)))
		g, gwhy := med("simgpu")
		speed := bench.BeforeSaxpyNs / g
		text := fmt.Sprintf("%s ns/elem = %s faster than before (%g ns; goal ≥ %g×, i.e. ≤ %s ns: %s)", num(g), times(speed),
			bench.BeforeSaxpyNs, bench.GoalSaxpySpeedup, num(bench.BeforeSaxpyNs/bench.GoalSaxpySpeedup),
			missBy(bench.GoalSaxpySpeedup/speed))
		if gv, why := med("simgpu-go"); why == "" {
			text += fmt.Sprintf("; %s faster than the Go body measured now (%s ns)", times(gv/g), num(gv))
		}
		add("(b) simgpu saxpy vs before", g, gwhy, speed >= bench.GoalSaxpySpeedup, text)
	case "c":
		v, why := med("simgpu")
		text := fmt.Sprintf("%s µs/page (goal ≤ %g: %s); %s faster than before (%g µs)", num(v), bench.GoalFreshUs,
			missBy(v/bench.GoalFreshUs), times(bench.BeforeFreshUs/v), float64(bench.BeforeFreshUs))
		add("(c) host time per page migrated by device faults", v, why, v <= bench.GoalFreshUs, text)
	case "d":
		c, cwhy := med("cpu")
		o, owhy := med("opencl")
		if cwhy == "" {
			cwhy = owhy
		}
		verdict := "met"
		if c < bench.GoalMulMat*o {
			verdict = "missed by " + times(bench.GoalMulMat*o/c)
		}
		text := fmt.Sprintf("%s GFLOP/s = %s OpenCL's %s (goal ≥ %g×: %s)", num(c), times(c/o), num(o), bench.GoalMulMat, verdict)
		add("(d) compiled mulmat on cpu vs OpenCL, "+s.Size, c, cwhy,
			c >= bench.GoalMulMat*o, text)
	}
	return out
}

// missBy says how far over its goal a figure is, given figure/goal for a
// time (>1 is missed).
func missBy(over float64) string {
	if over <= 1 {
		return fmt.Sprintf("met, %s of the limit", times(over))
	}
	return fmt.Sprintf("missed by %s", times(over))
}

func times(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	if x >= 100 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "-"
	}
	return times(a / b)
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
