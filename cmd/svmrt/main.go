// Command svmrt is svmrt's command-line tool.
//
//	svmrt devices                         devices this machine can open, with their memory capabilities
//	svmrt run [-device D] [-m N] mulmat   the seed's mulmat on a device, with its fault/migration summary
//	svmrt conform [-device D|all] [-run RE] [-json]
//	                                      the conformance suite: pass / fail / skip-with-reason per test and device
//	svmrt policies [-policy P,..] [-workload W,..|all] [-list] [-host]
//	                                      workloads under memory policies on the simulated GPU: one table
//	svmrt check [-device T,..|all] [-run RE] [-list]
//	                                      every library kernel's OpenCL C on each device against its Go body, bit for bit
//
// Exit status: 0 on success, 1 when a conformance test fails, a kernel's
// results differ between devices or paths, or a command fails, 2 on bad
// usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/conformance"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: svmrt <command> [flags]

commands:
  devices    list the devices this machine can open, with their SVM capabilities
  run        run a sample on a device: svmrt run [-device simgpu] [-m 256] mulmat
  conform    run the conformance suite: svmrt conform [-device all] [-run regexp] [-json]
  policies   compare memory policies on the simulated GPU: svmrt policies [-policy demand,uvm] [-workload mulmat]
  check      run every library kernel's OpenCL C against its Go body, bit for bit: svmrt check [-device cpu,simgpu,opencl] [-run regexp]
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "devices":
		return devices(stdout, stderr)
	case "run":
		return runSample(args[1:], stdout, stderr)
	case "conform":
		return conform(args[1:], stdout, stderr)
	case "policies":
		return policiesCmd(args[1:], stdout, stderr)
	case "check":
		return checkCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "svmrt: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func devices(stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "%-9s %-9s %-8s %-8s %-10s %s\n", "device", "coherent", "faults", "migrate", "memory", "description")
	names := svmrt.DeviceNames()
	cls, clErr := opencl.Devices()
	for _, name := range names {
		if name == "opencl" {
			continue // listed below, one row per OpenCL device
		}
		devicesRow(stdout, name)
	}
	if clErr != nil {
		fmt.Fprintf(stdout, "%-9s unavailable: %v\n", "opencl", clErr)
	}
	for i := range cls {
		devicesRow(stdout, fmt.Sprintf("opencl:%d", i))
	}
	if err := svmrt.Degraded(); err != nil {
		fmt.Fprintf(stdout, "\n* %v\n", err)
	}
	// OpenCL devices in detail, clinfo-style.
	fmt.Fprintln(stdout, "\nOpenCL devices")
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

func known(device string) bool {
	for _, n := range svmrt.DeviceNames() {
		if n == device {
			return true
		}
	}
	return strings.HasPrefix(device, "opencl:") && svmrt.OpenCLUnavailable() == nil
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

func runSample(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.String("device", "simgpu", "device: cpu, simgpu, opencl or opencl:N (svmrt devices lists them)")
	m := fs.Int("m", 256, "matrix size (m×m float32)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if isOpenCL(*device) {
		if err := svmrt.OpenCLUnavailable(); err != nil {
			// A known device kind that cannot be used here: say why (as
			// `svmrt devices` does), not "unknown device".
			fmt.Fprintf(stderr, "svmrt run: device %s: %v\n", *device, err)
			return 1
		}
	}
	if !known(*device) {
		fmt.Fprintf(stderr, "svmrt run: unknown device %q (known: %s)\n", *device, strings.Join(svmrt.DeviceNames(), ", "))
		return 2
	}
	if *m > 8192 {
		fmt.Fprintf(stderr, "svmrt run: -m %d: at most 8192 (three %d×%d float32 matrices would not fit here)\n", *m, *m, *m)
		return 2
	}
	if fs.NArg() != 1 || fs.Arg(0) != "mulmat" {
		fmt.Fprintln(stderr, "svmrt run: the sample to run is required; available: mulmat")
		return 2
	}
	if *m <= 0 {
		fmt.Fprintf(stderr, "svmrt run: -m %d: must be positive\n", *m)
		return 2
	}
	dev, err := svmrt.Open(*device)
	if err != nil {
		fmt.Fprintln(stderr, "svmrt run:", err)
		return 1
	}
	defer dev.Close()
	n := *m
	a, b, r, ref := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%17)/8, float32(i%13)/4
	}
	kernels.RefMulMat(ref, a, b, n)
	start := time.Now()
	if err := svmrt.MulMat(context.Background(), dev, r, a, b, n); err != nil {
		fmt.Fprintln(stderr, "svmrt run:", err)
		return 1
	}
	host := time.Since(start)
	bad := 0
	for i := range r {
		if d := r[i] - ref[i]; d > 1e-3 || d < -1e-3 {
			bad++
		}
	}
	st := dev.Stats()
	fmt.Fprintf(stdout, "mulmat %d×%d on %s: %d wrong elements\n", n, n, dev.Name(), bad)
	fmt.Fprintf(stdout, "  device faults %d, fault batches %d, pages H→D %d, pages D→H %d, CPU faults %d, simulated %v, host %v\n",
		st.DeviceFaults, st.FaultBatches, st.PagesH2D, st.PagesD2H, st.CPUFaults, st.SimulatedTime, host.Round(time.Millisecond))
	if bad > 0 {
		return 1
	}
	return 0
}

func conform(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.String("device", "all", "device to test (cpu, simgpu, opencl, opencl/buffer, ...), or all")
	filter := fs.String("run", "", "run only tests whose name matches this regular expression")
	asJSON := fs.Bool("json", false, "print results as JSON")
	timeout := fs.Duration("timeout", 2*time.Minute, "per-test time limit")
	if !parseFlags(fs, args, stderr, " (flags come first; the device is -device)") {
		return 2
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

// parseFlags parses a subcommand's flags, which take no positional
// argument: a stray one is reported (with hint) on stderr. It reports
// whether the command may go on (false: exit status 2).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, hint string) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "svmrt %s: unexpected argument %q%s\n", fs.Name(), fs.Arg(0), hint)
		return false
	}
	return true
}
