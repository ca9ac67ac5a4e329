package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/svmrt/svmrt/samples/mulmat/sample"
)

// traceCmd is `svmrt trace -o FILE run [run's flags] SAMPLE`: the sample as
// svmrt run runs it, its timeline written to FILE as Trace Event JSON (open
// it in ui.perfetto.dev or chrome://tracing).
func traceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	out := fs.String("o", "trace.json", "the trace file (Chrome/Perfetto Trace Event JSON); - for stdout")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: svmrt trace [-o FILE] run [run's flags] SAMPLE [run's flags]

Runs a sample as svmrt run does and writes its timeline to FILE as Trace Event
JSON, for ui.perfetto.dev or chrome://tracing: every command on the host
clock, and on the simulated GPU's clock every fault batch, migration (each
direction), eviction, read duplicate, throttle and pin, and the CPU faults
that brought pages home. (SVMRT_TRACE=FILE traces any svmrt program.)

flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "run" {
		what := "nothing"
		if len(rest) > 0 {
			what = fmt.Sprintf("%q", rest[0])
		}
		fmt.Fprintf(stderr, "svmrt trace: what to trace? got %s, want: svmrt trace -o FILE run [flags] %s\n", what, strings.Join(samples, "|"))
		return 2
	}
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(stderr, "svmrt trace:", err)
			return 1
		}
		w = f
	}
	code := runSampleTraced(rest[1:], stdout, stderr, w)
	if f != nil {
		info, serr := f.Stat()
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "svmrt trace:", err)
			return 1
		}
		if serr == nil && code != 2 {
			fmt.Fprintf(stderr, "svmrt trace: wrote %s (%d KiB): open it in ui.perfetto.dev or chrome://tracing\n", *out, (info.Size()+1023)/1024)
		}
	}
	return code
}

// runSampleTraced is svmrt run with the device's trace going to trace
// (nil: none).
func runSampleTraced(args []string, stdout, stderr, trace io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	config := sample.Flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: svmrt run [flags] SAMPLE [flags]\n\nsamples: %s (the seed's mulmat, with its fault/migration summary; progress on stderr when it runs long)\n\nflags:\n", strings.Join(samples, ", "))
		fs.PrintDefaults()
	}
	if _, code, ok := sampleName(fs, args, stdout, stderr); !ok {
		return code
	}
	ctx, stop := sample.InterruptContext()
	defer stop()
	c := config()
	c.Stdout, c.Stderr, c.ProgressEvery, c.Trace = stdout, stderr, progressEvery, trace
	if err := sample.Run(ctx, c); err != nil {
		fmt.Fprintln(stderr, "svmrt run:", err)
		if errors.Is(err, sample.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}
