package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"time"

	"github.com/svmrt/svmrt/kernels/kerneltest"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// checkCmd runs the library's kernel cases (kerneltest.Library): each
// kernel's compiled OpenCL C on the chosen devices against its Go body and
// plain-Go reference, bit for bit, and prints one table.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	device := fs.String("device", "all", "comma-separated targets (known: "+strings.Join(kerneltest.Targets(), ", ")+"), or all ("+strings.Join(kerneltest.DefaultTargets(), ", ")+")")
	filter := fs.String("run", "", "check only cases whose name matches this regular expression")
	list := fs.Bool("list", false, "list the cases and exit")
	timeout := fs.Duration("timeout", 10*time.Minute, "time limit for the whole check")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svmrt check [-device cpu,simgpu,opencl|all] [-run regexp] [-list]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, " (flags come first; the device is -device)"); !ok {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "svmrt check: -timeout %v: must be positive\n", *timeout)
		return 2
	}
	targets := kerneltest.DefaultTargets()
	explicit := *device != "all"
	if explicit {
		targets = nil
		for _, t := range strings.Split(*device, ",") {
			t = strings.TrimSpace(t)
			if err := kerneltest.ValidTarget(t); err != nil {
				fmt.Fprintf(stderr, "svmrt check: -device: %v\n", err)
				return 2
			}
			targets = append(targets, t)
		}
	}
	var re *regexp.Regexp
	if *filter != "" {
		var err error
		if re, err = regexp.Compile(*filter); err != nil {
			fmt.Fprintf(stderr, "svmrt check: -run: %v\n", err)
			return 2
		}
	}
	var cases []kerneltest.Case
	for _, c := range checkCases() {
		if re == nil || re.MatchString(c.Name) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		fmt.Fprintf(stderr, "svmrt check: no case matches -run %q (svmrt check -list)\n", *filter)
		return 2
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintf(stdout, "%-32s kernel %s, %v\n", c.Name, c.Kernel.Name, c.Range)
		}
		return 0
	}
	if explicit {
		// An OpenCL device asked for by name that cannot be used here is an
		// error (as for svmrt run), not a column of skips.
		for _, t := range targets {
			if isOpenCL(strings.SplitN(t, "/", 2)[0]) {
				if err := svmrt.Unavailable("opencl"); err != nil {
					fmt.Fprintf(stderr, "svmrt check: device %s: %v\n", t, err)
					return 1
				}
			}
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *timeout)
	defer cancelT()
	s := kerneltest.NewSession()
	defer s.Close()
	var reps []*kerneltest.Report
	for i, c := range cases {
		start := time.Now()
		rep, err := s.Check(ctx, c, targets...)
		if err != nil {
			fmt.Fprintf(stderr, "svmrt check: %v\n", err)
			return 1
		}
		reps = append(reps, rep)
		verdict := "ok"
		if !rep.OK() {
			verdict = "FAIL"
		}
		fmt.Fprintf(stderr, "[%d/%d] %-32s %s (%v)\n", i+1, len(cases), c.Name, verdict, time.Since(start).Round(time.Millisecond))
	}
	return checkTable(stdout, reps)
}

// checkCases are the cases svmrt check runs (a variable for its tests).
var checkCases = kerneltest.Library

// checkTable prints one row per run (kernel case, device, path, result)
// and a summary line; it returns the exit status: 1 when a run differs or
// failed.
func checkTable(w io.Writer, reps []*kerneltest.Report) int {
	type row struct{ kernel, device, path, result string }
	var rows []row
	var notes []string
	runs, bad, skipped := 0, 0, 0
	for _, rep := range reps {
		if rep.Tolerance != nil {
			notes = append(notes, fmt.Sprintf("%s: tolerance %d ULP: %s", rep.Case, rep.Tolerance.ULPs, rep.Tolerance.Why))
		}
		for i, r := range rep.Runs {
			dev := r.Device
			if strings.HasSuffix(r.Target, "/buffer") {
				dev += "/buffer"
			}
			result := r.Result(i == rep.Baseline)
			switch {
			case r.Skipped != "":
				skipped++
				notes = append(notes, fmt.Sprintf("%s on %s (%s): %s", rep.Case, dev, r.Path, result))
				result = "skipped"
			case !r.OK():
				bad++
			}
			runs++
			rows = append(rows, row{rep.Case, dev, string(r.Path), result})
		}
	}
	kw, dw, pw := len("kernel"), len("device"), len("path")
	for _, r := range rows {
		kw, dw, pw = max(kw, len(r.kernel)), max(dw, len(r.device)), max(pw, len(r.path))
	}
	fmt.Fprintf(w, "%-*s  %-*s  %-*s  %s\n", kw, "kernel", dw, "device", pw, "path", "result")
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %-*s  %-*s  %s\n", kw, r.kernel, dw, r.device, pw, r.path, r.result)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n  %s\n", strings.Join(notes, "\n  "))
	}
	fmt.Fprintf(w, "\n%d cases, %d runs: %d differ or failed, %d skipped\n", len(reps), runs, bad, skipped)
	if bad > 0 {
		return 1
	}
	return 0
}
