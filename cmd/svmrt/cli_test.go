package main

import (
	"errors"
	"os"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
)

// Issue 14's CLI fixes, one test each.

// `svmrt run mulmat -device cpu` said "the sample to run is required":
// flags may come before or after the sample's name.
func TestRunFlagsBeforeOrAfterSample(t *testing.T) {
	for _, args := range [][]string{
		{"run", "mulmat", "-device", "cpu", "-m", "32"},
		{"run", "-device", "cpu", "-m", "32", "mulmat"},
		{"run", "-m", "32", "mulmat", "-device", "cpu"},
	} {
		code, out, stderr := svmrtRun(args...)
		if code != 0 || !strings.Contains(out, "mulmat: 32×32 float32 on cpu") || !strings.Contains(out, "max error vs CPU reference 0") {
			t.Errorf("svmrt %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
	}
}

// `svmrt run saxpy` said "the sample to run is required".
func TestRunUnknownSample(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"run", "saxpy"}, `svmrt run: unknown sample "saxpy" (samples: mulmat)`},
		{[]string{"run", "-device", "cpu", "saxpy"}, `unknown sample "saxpy" (samples: mulmat)`},
		{[]string{"run"}, "which sample? (samples: mulmat)"},
		{[]string{"run", "-device", "cpu"}, "which sample? (samples: mulmat)"},
		{[]string{"run", "mulmat", "saxpy"}, `unexpected argument "saxpy"`},
	} {
		code, out, stderr := svmrtRun(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.err) || out != "" {
			t.Errorf("svmrt %s: exit %d, stderr %q, stdout %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, out, tc.err)
		}
	}
}

// run had no -vram and -policy: now they reach the simulated GPU.
func TestRunVRAMAndPolicy(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	batches := map[string]int{}
	for _, p := range []string{"demand", "prefetch"} {
		code, out, stderr := svmrtRun("run", "mulmat", "-m", "64", "-vram", "8MiB", "-policy", p)
		if code != 0 || !strings.Contains(out, "simulated GPU: 8 MiB device memory") {
			t.Fatalf("-policy %s: exit %d\n%s%s", p, code, out, stderr)
		}
		batches[p] = counter(t, out, "fault batches")
	}
	if batches["prefetch"] >= batches["demand"] {
		t.Errorf("-policy prefetch did not reach the device: %d fault batches, demand %d", batches["prefetch"], batches["demand"])
	}
	code, _, stderr := svmrtRun("run", "mulmat", "-m", "32", "-policy", "clairvoyant")
	if code != 2 || !strings.Contains(stderr, `unknown policy "clairvoyant" (known: demand,`) {
		t.Errorf("unknown policy: exit %d: %s", code, stderr)
	}
}

// run printed a line of zero counters on cpu; now it prints what the
// device has and says there are no fault counters.
func TestRunCPUNoZeroCounters(t *testing.T) {
	code, out, stderr := svmrtRun("run", "-device", "cpu", "-m", "32", "mulmat")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "device faults              none counted: cpu accesses host memory directly, nothing migrates") ||
		!strings.Contains(out, "launches                   1") {
		t.Errorf("cpu summary:\n%s", out)
	}
	for _, zero := range []string{"fault batches", "pages host→device", "simulated time", "CPU faults", "pages resident", "TLB"} {
		if strings.Contains(out, zero) {
			t.Errorf("cpu summary shows %q, which cpu does not count:\n%s", zero, out)
		}
	}
	if regexp.MustCompile(`\s0s?,|\b0 / 0\b`).MatchString(out) {
		t.Errorf("zero counters:\n%s", out)
	}
}

// The sample and run silently ignored -policy and -vram on cpu: now both
// refuse them there (exit 2), saying they are the simulated GPU's.
func TestRunSimGPUOptionsElsewhere(t *testing.T) {
	devices := []string{"cpu"}
	if svmrt.Unavailable("opencl") == nil {
		devices = append(devices, "opencl", "opencl/buffer")
	}
	for _, d := range devices {
		for _, opt := range [][]string{{"-policy", "uvm"}, {"-vram", "64MiB"}, {"-policy", "demand"}, {"-vram", "256MiB"}} {
			args := append([]string{"run", "mulmat", "-m", "16", "-device", d}, opt...)
			code, out, stderr := svmrtRun(args...)
			want := opt[0] + " " + opt[1] + ": only the simulated GPU (-device simgpu) has device memory to size or manage; " + d
			if code != 2 || !strings.Contains(stderr, want) || out != "" {
				t.Errorf("svmrt %s: exit %d %q, want 2 and %q", strings.Join(args, " "), code, stderr, want)
			}
			// The sample says the same (package sample is its body too).
			c := sample.Config{M: 16, Device: d}
			if opt[0] == "-policy" {
				c.Policy = opt[1]
			} else {
				c.VRAM = opt[1]
			}
			if err := sample.Check(c); !errors.Is(err, sample.ErrUsage) || !strings.Contains(err.Error(), want) {
				t.Errorf("sample on %s with %v: %v", d, opt, err)
			}
		}
	}
}

// run rejected opencl/buffer, which conform accepts.
func TestRunOpenCLBuffer(t *testing.T) {
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
	for _, d := range []string{"opencl/buffer", "opencl:0/buffer"} {
		code, out, stderr := svmrtRun("run", "mulmat", "-device", d, "-m", "32")
		if code != 0 || !strings.Contains(out, "on opencl:0/buffer") || !strings.Contains(out, "mode buffer") ||
			!strings.Contains(out, "bytes staged in / out") || !strings.Contains(out, "max error vs CPU reference 0") {
			t.Errorf("run -device %s: exit %d\n%s%s", d, code, out, stderr)
		}
	}
}

// svmrt -h exited 0 but run -h and conform -h exited 2, and devices
// ignored -h: every command's -h prints its usage on stdout, exit 0.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range []string{"devices", "run", "conform", "policies", "check", "icd", "viz", "bench", "trace", "version"} {
		for _, args := range [][]string{{cmd, "-h"}, {cmd, "-help"}, {cmd, "--help"}, {"help", cmd}} {
			code, out, stderr := svmrtRun(args...)
			if code != 0 || !strings.HasPrefix(out, "usage: svmrt "+cmd) || stderr != "" {
				t.Errorf("svmrt %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, stderr)
			}
		}
	}
	if code, out, _ := svmrtRun("run", "mulmat", "-h"); code != 0 || !strings.Contains(out, "-vram") || !strings.Contains(out, "-policy") {
		t.Errorf("run mulmat -h: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"-h"}, {"help"}} {
		if code, out, _ := svmrtRun(args...); code != 0 || !strings.Contains(out, "version") {
			t.Errorf("svmrt %s: exit %d\n%s", args[0], code, out)
		}
	}
	for _, args := range [][]string{{"devices", "extra"}, {"devices", "-x"}, {"version", "x"}, {"help", "nope"}, {"run", "-x", "mulmat"}} {
		if code, _, stderr := svmrtRun(args...); code != 2 || stderr == "" {
			t.Errorf("svmrt %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, stderr)
		}
	}
}

// There was no version command.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "-version", "--version"} {
		code, out, stderr := svmrtRun(arg)
		if code != 0 || !regexp.MustCompile(`^svmrt github\.com/svmrt/svmrt \S+`).MatchString(out) ||
			!strings.Contains(out, "built with "+goruntime.Version()) {
			t.Errorf("svmrt %s: exit %d\n%s%s", arg, code, out, stderr)
		}
	}
}

// Errors for an OpenCL device that does not exist said "runtime: ...
// runtime: unknown device: ...".
func TestUnknownDeviceNoStutter(t *testing.T) {
	_, err := svmrt.Open("tpu")
	if !errors.Is(err, svmrt.ErrUnknownDevice) || strings.Count(err.Error(), "runtime:") != 1 || strings.Count(err.Error(), "unknown device") != 1 {
		t.Errorf("Open(tpu): %v", err)
	}
	code, _, stderr := svmrtRun("run", "-device", "tpu", "mulmat")
	if code != 2 || !strings.Contains(stderr, `unknown device "tpu" (known: cpu, simgpu, opencl, opencl:N, opencl/buffer`) {
		t.Errorf("run -device tpu: exit %d: %s", code, stderr)
	}
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
	_, err = svmrt.Open("opencl:99")
	if !errors.Is(err, svmrt.ErrUnknownDevice) || strings.Count(err.Error(), "runtime:") != 1 || strings.Count(err.Error(), "unknown device") != 1 {
		t.Errorf("Open(opencl:99): %v", err)
	}
	code, _, stderr = svmrtRun("run", "-device", "opencl:99", "mulmat")
	if code != 1 || strings.Count(stderr, "runtime:") != 1 || !strings.Contains(stderr, "no such device 99") {
		t.Errorf("run -device opencl:99: exit %d: %s", code, stderr)
	}
}

// -vram 1MB said "bad size" without the accepted forms.
func TestVRAMBadSizeListsForms(t *testing.T) {
	for _, v := range []string{"1MB", "lots", "-1MiB", "0", "1.5GiB", "99999999999GiB"} {
		code, out, stderr := svmrtRun("run", "mulmat", "-m", "16", "-vram", v)
		if code != 2 || out != "" || !strings.Contains(stderr, `-vram: bad size "`+v+`"`) {
			t.Errorf("-vram %s: exit %d, %q", v, code, stderr)
		}
		for _, form := range []string{"1048576", "KiB, MiB or GiB", "256MiB", "1GiB"} {
			if !strings.Contains(stderr, form) {
				t.Errorf("-vram %s: message lacks the accepted form %q: %s", v, form, stderr)
			}
		}
	}
	if _, _, stderr := svmrtRun("run", "mulmat", "-vram", "1MB"); !strings.Contains(stderr, "decimal units are not accepted: write KiB, MiB or GiB") {
		t.Errorf("-vram 1MB: %s", stderr)
	}
	for s, want := range map[string]int64{"1048576": 1 << 20, "256MiB": 256 << 20, "1GiB": 1 << 30, "64M": 64 << 20, "512KiB": 512 << 10, "2g": 2 << 30, " 8 MiB ": 8 << 20} {
		if got, err := sample.ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}

// run reports progress on stderr when it runs long (every progressEvery,
// made short here); a short run says nothing there.
func TestRunProgress(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	code, out, stderr := svmrtRun("run", "mulmat", "-m", "32", "-vram", "8MiB")
	if code != 0 || stderr != "" {
		t.Fatalf("short run: exit %d, stderr %q\n%s", code, stderr, out)
	}
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = time.Millisecond
	code, out, stderr = svmrtRun("run", "mulmat", "-m", "256", "-vram", "8MiB") // 256 groups: 2 waves of 128
	if code != 0 || !regexp.MustCompile(`(?m)^  \[\d+s\] gpu_mul_mat: wave \d+/\d+ \(\d+%\), \d+ device faults, simulated `).MatchString(stderr) {
		t.Fatalf("no progress on stderr: exit %d, stderr %q\n%s", code, stderr, out)
	}
	if strings.Contains(out, "gpu_mul_mat: wave") {
		t.Errorf("progress on stdout:\n%s", out)
	}
}

// README gave figures for `-policy uvm` the program did not print, and
// uvm's counts varied from run to run (6 to 9 batches) with where the heap
// put the matrices relative to 2 MiB blocks, which the prefetcher works
// on; the sample now places them at a block boundary. Both policies'
// batches are checked exactly, the simulated times to README's 0.1 ms.
func TestREADMEPolicyFigures(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	if !childtest.InChild(t, "SVMRT_CLI_README_CHILD", 2*time.Minute) {
		return
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	re := regexp.MustCompile(`-policy uvm\S* \(the simulated GPU's memory policy: with UVM's prefetcher the same run takes (\d+) fault batches instead of (\d+) and ([\d.]+) ms instead of ([\d.]+) ms`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("README has no -policy uvm figures matching %s", re)
	}
	num := func(s string) float64 { n, _ := strconv.ParseFloat(s, 64); return n }
	for _, tc := range []struct {
		policy         string
		batches, simMs float64
	}{
		{"uvm", num(m[1]), num(m[3])},
		{"demand", num(m[2]), num(m[4])},
	} {
		code, out, stderr := svmrtRun("run", "mulmat", "-policy", tc.policy)
		if code != 0 {
			t.Fatalf("-policy %s: exit %d\n%s%s", tc.policy, code, out, stderr)
		}
		sm := regexp.MustCompile(`simulated time +(\S+)`).FindStringSubmatch(out)
		if sm == nil {
			t.Fatalf("no simulated time:\n%s", out)
		}
		d, err := time.ParseDuration(sm[1])
		if err != nil {
			t.Fatal(err)
		}
		b, ms := float64(counter(t, out, "fault batches")), float64(d)/1e6
		if b != tc.batches || ms < tc.simMs-0.1 || ms > tc.simMs+0.1 {
			t.Errorf("-policy %s: the program prints %v fault batches, %v simulated; README says %v, %v ms", tc.policy, b, d, tc.batches, tc.simMs)
		}
	}
}

// counter reads a summary row's number.
func counter(t *testing.T, out, row string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(row) + ` +(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q row:\n%s", row, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
