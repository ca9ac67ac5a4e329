// Command svmrt is svmrt's command-line tool.
//
//	svmrt devices                         devices this machine can open, with their memory capabilities
//	svmrt run [-device D] [-m N] [-vram S] [-policy P] mulmat
//	                                      the seed's mulmat on a device, with its fault/migration summary
//	                                      (flags before or after the sample's name)
//	svmrt conform [-device D|all] [-run RE] [-json]
//	                                      the conformance suite: pass / fail / skip-with-reason per test and device
//	svmrt policies [-policy P,..] [-workload W,..|all] [-list] [-host]
//	                                      workloads under memory policies on the simulated GPU: one table
//	svmrt check [-device T,..|all] [-run RE] [-list]
//	                                      every library kernel's OpenCL C on each device against its Go body, bit for bit
//	svmrt icd [-lib PATH | -o PATH] [-install]
//	                                      builds or locates svmrt's OpenCL platform (an ICD library for the
//	                                      OpenCL ICD loader) and says how to select it; -install registers it
//	svmrt viz [-o FILE.png] [-read-steps N] [run's flags] mulmat
//	                                      runs the sample, sampling where its matrices' pages are at each step,
//	                                      and draws the residency picture (OpenGL, headless: -tags viz)
//	svmrt bench [-n N] [-small] [-sections S,..]
//	                                      the benchmarks beside their peers in one run, with ratios and goal
//	                                      verdicts (OpenBLAS in builds with -tags openblas)
//	svmrt trace [-o FILE] run [run's flags] mulmat
//	                                      runs the sample and writes its timeline (faults, batches, migrations,
//	                                      evictions, CPU faults, commands) as Chrome/Perfetto Trace Event JSON
//	svmrt version                         the module's version and the Go version it was built with
//
// Every command's -h prints its usage (exit status 0); so does
// `svmrt help COMMAND`.
//
// Exit status: 0 on success, 1 when a conformance test fails, a kernel's
// results differ between devices or paths, or a command fails, 2 on bad
// usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/conformance"
	svmrt "github.com/svmrt/svmrt/runtime"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: svmrt <command> [flags]

commands:
  devices    list the devices this machine can open, with their SVM capabilities
  run        run a sample on a device: svmrt run mulmat [-device simgpu] [-m 256] [-vram 256MiB] [-policy demand]
  conform    run the conformance suite: svmrt conform [-device all] [-run regexp] [-json]
  policies   compare memory policies on the simulated GPU: svmrt policies [-policy demand,uvm] [-workload mulmat]
  check      run every library kernel's OpenCL C against its Go body, bit for bit: svmrt check [-device cpu,simgpu,opencl] [-run regexp]
  icd        build svmrt's OpenCL platform for the ICD loader and say how to select it: svmrt icd [-install]
  trace      write a sample's timeline as Chrome/Perfetto JSON: svmrt trace -o trace.json run mulmat [run's flags]
  viz        draw where a sample's pages are over its run, as a PNG: svmrt viz -o residency.png mulmat [run's flags] (a build with -tags viz)
  bench      run the benchmarks beside their peers (Go loop, PoCL, OpenBLAS, gonum, copy()) with ratios: svmrt bench [-small] [-n 3]
  version    print svmrt's version and the Go version it was built with

svmrt <command> -h (or svmrt help <command>) describes a command's flags.
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "devices":
		return devices(args[1:], stdout, stderr)
	case "run":
		return runSample(args[1:], stdout, stderr)
	case "conform":
		return conform(args[1:], stdout, stderr)
	case "policies":
		return policiesCmd(args[1:], stdout, stderr)
	case "check":
		return checkCmd(args[1:], stdout, stderr)
	case "icd":
		return icdCmd(args[1:], stdout, stderr)
	case "viz":
		return vizCmd(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "trace":
		return traceCmd(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		return version(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			switch args[1] {
			case "devices", "run", "conform", "policies", "check", "icd", "viz", "bench", "trace", "version":
				return run([]string{args[1], "-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "svmrt help: unknown command %q\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "svmrt: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

// noFlags parses the arguments of a command that takes none: -h prints
// its usage (what, then "It takes no flags.") and anything else is an
// error, as parseFlags says.
func noFlags(name, what string, args []string, stdout, stderr io.Writer) (int, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: svmrt %s\n\n%s It takes no flags.\n", name, what)
	}
	return parseFlags(fs, args, stdout, stderr, "")
}

func devices(args []string, stdout, stderr io.Writer) int {
	if code, ok := noFlags("devices", "Lists every device of every backend this machine can open (cpu, simgpu, each OpenCL device),\nwith its memory capabilities, then the OpenCL devices in detail.", args, stdout, stderr); !ok {
		return code
	}
	fmt.Fprintf(stdout, "%-9s %-9s %-8s %-8s %-10s %s\n", "device", "coherent", "faults", "migrate", "memory", "description")
	names, unavailable := svmrt.Devices()
	for _, name := range names {
		devicesRow(stdout, name)
	}
	for _, kind := range slices.Sorted(maps.Keys(unavailable)) {
		fmt.Fprintf(stdout, "%-9s unavailable: %v\n", kind, unavailable[kind])
	}
	if err := svmrt.Degraded(); err != nil {
		fmt.Fprintf(stdout, "\n* %v\n", err)
	}
	// OpenCL devices in detail, clinfo-style.
	fmt.Fprintln(stdout, "\nOpenCL devices")
	cls, clErr := opencl.Devices()
	if clErr != nil {
		fmt.Fprintf(stdout, "  unavailable: %v\n", clErr)
		return 0
	}
	fmt.Fprintf(stdout, "  %-9s %-5s %-32s %-22s %-10s %-4s %-10s %-34s %s\n", "device", "type", "name", "version", "OpenCL C", "CUs", "memory", "SVM (coarse, fine buffer, fine system, atomics)", "mode")
	for i, d := range cls {
		mode := "-"
		if dev, err := opencl.Open(i); err != nil {
			mode = "cannot open: " + err.Error()
		} else {
			mode = fmt.Sprintf("%v (%s)", dev.Mode(), dev.ModeReason())
			dev.Close()
		}
		cv := d.CVersion
		if f := strings.Fields(cv); len(f) >= 3 {
			cv = f[2]
		}
		if n := len(d.CVersions); n > 0 && !strings.HasPrefix(cv, d.CVersions[n-1]) {
			cv += " (" + d.CVersions[n-1] + ")"
		}
		fmt.Fprintf(stdout, "  %-9s %-5s %-32.32s %-22.22s %-10.10s %-4d %-10s %-47s %s\n", fmt.Sprintf("opencl:%d", i),
			d.Type, d.Name, d.Version, cv, d.ComputeUnits, fmt.Sprintf("%d MiB", d.GlobalMem>>20), svmCaps(d.SVM), mode)
	}
	return 0
}

// svmCaps spells out all four SVM capabilities, yes or no.
func svmCaps(c opencl.SVMCaps) string {
	return fmt.Sprintf("coarse %s, fine %s, system %s, atomics %s", yes(c.CoarseBuffer), yes(c.FineBuffer), yes(c.FineSystem), yes(c.Atomics))
}

func devicesRow(stdout io.Writer, name string) {
	d, err := svmrt.Open(name)
	if err != nil {
		fmt.Fprintf(stdout, "%-9s unavailable: %v\n", name, err)
		return
	}
	defer d.Close()
	info := d.Info()
	migrate := yes(info.Caps.PrivateMemory)
	if info.Caps.PrivateMemory && svmrt.Degraded() != nil {
		migrate = "no*"
	}
	mem := "host"
	if info.Caps.MemoryBytes > 0 {
		mem = fmt.Sprintf("%d MiB", info.Caps.MemoryBytes>>20)
	}
	fmt.Fprintf(stdout, "%-9s %-9s %-8s %-8s %-10s %s\n", name, yes(info.Caps.Coherent), yes(info.Caps.Faults), migrate, mem, info.Description)
}

// isOpenCL reports whether device names an OpenCL device ("opencl",
// "opencl:N").
func isOpenCL(device string) bool {
	rest, ok := strings.CutPrefix(device, "opencl:")
	if device == "opencl" {
		return true
	}
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// samples are the samples svmrt run knows.
var samples = []string{"mulmat"}

// progressEvery is how often a long `svmrt run` reports on stderr (a
// variable for the tests).
var progressEvery = 2 * time.Second

// runSample runs a sample (the mulmat sample's own code: package sample).
// Flags may come before or after the sample's name.
func runSample(args []string, stdout, stderr io.Writer) int {
	return runSampleTraced(args, stdout, stderr, nil)
}

// version prints the module's version (from the build info: "(devel)" for
// a build from a work tree), its VCS revision when recorded, and the Go
// version.
func version(args []string, stdout, stderr io.Writer) int {
	if code, ok := noFlags("version", "Prints svmrt's module version and the Go version it was built with.", args, stdout, stderr); !ok {
		return code
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "svmrt (no build information)")
		return 0
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	path := bi.Main.Path
	if path == "" {
		path = "github.com/svmrt/svmrt"
	}
	fmt.Fprintf(stdout, "svmrt %s %s", path, v)
	if rev != "" {
		fmt.Fprintf(stdout, " (commit %.12s%s)", rev, modified)
	}
	fmt.Fprintf(stdout, "\nbuilt with %s %s/%s\n", bi.GoVersion, goruntime.GOOS, goruntime.GOARCH)
	return 0
}

func conform(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	device := fs.String("device", "all", "device to test (cpu, simgpu, opencl, opencl/buffer, ...), or all")
	filter := fs.String("run", "", "run only tests whose name matches this regular expression")
	asJSON := fs.Bool("json", false, "print results as JSON")
	timeout := fs.Duration("timeout", 2*time.Minute, "per-test time limit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svmrt conform [-device D|all] [-run regexp] [-json] [-timeout 2m]\n\nRuns the conformance suite: pass / fail / skip-with-reason per test and device, progress on stderr.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, " (flags come first; the device is -device)"); !ok {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "svmrt conform: -timeout %v: must be positive\n", *timeout)
		return 2
	}
	var backends []conformance.Backend
	known := []string{"all"}
	for _, b := range conformance.Backends() {
		known = append(known, b.Name)
		if *device == "all" || *device == b.Name {
			backends = append(backends, b)
		}
	}
	if len(backends) == 0 {
		fmt.Fprintf(stderr, "svmrt conform: unknown device %q (known: %s)\n", *device, strings.Join(known, ", "))
		return 2
	}
	opt := conformance.Options{Timeout: *timeout}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			fmt.Fprintf(stderr, "svmrt conform: -run: %v\n", err)
			return 2
		}
		opt.Filter = re
	}
	tests := conformance.Tests()
	total := 0
	for range backends {
		for _, t := range tests {
			if opt.Filter == nil || opt.Filter.MatchString(t.Name) {
				total++
			}
		}
	}
	if total == 0 {
		fmt.Fprintf(stderr, "svmrt conform: no test matches -run %q\n", *filter)
		return 2
	}
	done := 0
	opt.Progress = func(r conformance.Result) {
		done++
		fmt.Fprintf(stderr, "[%d/%d] %-7s %-32s %s (%v)\n", done, total, r.Backend, r.Test, r.Status, r.Duration.Round(time.Millisecond))
	}
	results := conformance.Run(context.Background(), backends, tests, opt)
	failed := 0
	for _, r := range results {
		if r.Status == conformance.Fail {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintln(stderr, "svmrt conform:", err)
			return 1
		}
	} else {
		fmt.Fprint(stdout, conformance.Table(results))
		fmt.Fprintf(stdout, "\n%d results: %d failed\n", len(results), failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// parseArgs parses flags up to the first positional argument. -h and
// -help print the usage on stdout (exit status 0), other errors it on
// stderr (exit status 2). It reports whether the command may go on, and
// the exit status when not.
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	var buf strings.Builder
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stdout, buf.String())
		return 0, false
	case err != nil:
		io.WriteString(stderr, buf.String())
		return 2, false
	}
	return 0, true
}

// parseFlags parses a subcommand's flags, which take no positional
// argument: a stray one is reported (with hint) on stderr. It reports
// whether the command may go on, and the exit status when not (0 after
// -h, 2 on bad usage).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, hint string) (int, bool) {
	if code, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "svmrt %s: unexpected argument %q%s\n", fs.Name(), fs.Arg(0), hint)
		return 2, false
	}
	return 0, true
}
