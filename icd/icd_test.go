package icd_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/icd"
	"github.com/svmrt/svmrt/icd/icdbuild"
)

// The ICD is tested as OpenCL programs see it: built as the shared library,
// loaded by Debian's ICD loader into Debian's clinfo and into a C host
// program (testdata/queries.c). The library holds a Go runtime of its own,
// so it cannot be loaded into this test process.

// env is the environment of a program that loads the ICD at lib alone.
func env(lib string, extra ...string) []string {
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCL_ICD_VENDORS=") && !strings.HasPrefix(kv, "SVMRT_VRAM=") &&
			!strings.HasPrefix(kv, "OPENCL_LAYERS=") {
			e = append(e, kv)
		}
	}
	return append(append(e, "OCL_ICD_VENDORS="+lib), extra...)
}

func run(t *testing.T, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	// Host programs build several OpenCL C programs: with a cold build
	// cache each is a clang run of seconds (kernels.c takes about a minute
	// on two cores).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func TestICD(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: the ICD is a cgo c-shared library (scripts/setup.sh installs gcc)")
	}
	root, err := icdbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, icdbuild.LibName)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := icdbuild.Build(ctx, "", root, lib); err != nil {
		t.Fatal(err)
	}

	t.Run("exports", func(t *testing.T) { testExports(t, lib) })
	t.Run("clinfo", func(t *testing.T) { testClinfo(t, lib) })
	t.Run("clinfo-default-vram", func(t *testing.T) { testClinfoDefaultVRAM(t, lib) })
	t.Run("clinfo-bad-vram", func(t *testing.T) { testClinfoBadVRAM(t, lib) })
	t.Run("queries", func(t *testing.T) { testQueries(t, lib, dir) })
	t.Run("kernels", func(t *testing.T) { testHost(t, lib, dir, "kernels") })
	t.Run("link", func(t *testing.T) { testHost(t, lib, dir, "link") })
	t.Run("svm", func(t *testing.T) { testSVM(t, lib, dir) })
	t.Run("buffers", func(t *testing.T) { testHost(t, lib, dir, "buffers") })
	t.Run("badinput", func(t *testing.T) { testHost(t, lib, dir, "badinput") })
	t.Run("threads", func(t *testing.T) { testHost(t, lib, dir, "threads") })
	t.Run("cts-svm", func(t *testing.T) { testCTSSVM(t, root, lib) })
}

// testSVM runs svm.c: saxpy on malloc memory and a malloc'd linked list
// walked by the device, whose results the program checks and prints.
//
// With SVMRT_SUMMARY naming a file, the library writes the device's summary
// there as the program exits: the malloc'd pages migrated to the device
// and the program's reads of its results brought them back by CPU faults.
func testSVM(t *testing.T, lib, dir string) {
	summaryFile := filepath.Join(dir, "svm-summary.txt")
	out := testHostEnv(t, lib, dir, "svm", []string{icd.SummaryEnv + "=" + summaryFile})
	// y[i] = 2*i + 1; list i has i+1 nodes of value 3k+i, weighted by k.
	want := []string{"y[99999] = 199999,", "sums[63] = 399360"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("svm printed no %q:\n%s", w, out)
		}
	}
	data, err := os.ReadFile(summaryFile)
	if err != nil {
		t.Fatalf("no summary at exit: %v", err)
	}
	sum := string(data)
	t.Logf("%s", sum)
	for _, counter := range []string{"launches", "device faults", "pages host→device", "pages device→host", "CPU faults"} {
		n := -1
		for _, l := range strings.Split(sum, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), counter+" "); ok {
				fmt.Sscan(strings.TrimSpace(rest), &n)
			}
		}
		if n <= 0 {
			t.Errorf("summary's %q is %d, want > 0:\n%s", counter, n, sum)
		}
	}
	if !strings.Contains(sum, "simulated time") {
		t.Errorf("summary without the simulated time:\n%s", sum)
	}
}

// The library exports the two symbols the loader looks up, and nothing else.
func testExports(t *testing.T, lib string) {
	nm, err := exec.LookPath("nm")
	if err != nil {
		t.Skip("nm (binutils) is not installed")
	}
	out, _, err := run(t, os.Environ(), nm, "-D", "--defined-only", lib)
	if err != nil {
		t.Fatal(err)
	}
	var syms []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			syms = append(syms, f[2])
		}
	}
	if got := strings.Join(syms, " "); got != "clGetExtensionFunctionAddress clIcdGetPlatformIDsKHR" {
		t.Errorf("exported symbols: %s; want clGetExtensionFunctionAddress clIcdGetPlatformIDsKHR", got)
	}
}

func clinfo(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("clinfo")
	if err != nil {
		t.Fatal("clinfo is not installed: run scripts/setup.sh (Debian package clinfo)")
	}
	return path
}

// fields parses clinfo's human-readable output: each line's name (the text
// before a run of two or more spaces) and value, in order.
type line struct{ name, value string }

var sep = regexp.MustCompile(`\S\s{2,}\S`)

func fields(out string) []line {
	var ls []line
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		loc := sep.FindStringIndex(l)
		if loc == nil {
			ls = append(ls, line{name: l})
			continue
		}
		ls = append(ls, line{name: strings.TrimSpace(l[:loc[0]+1]), value: strings.TrimSpace(l[loc[1]-1:])})
	}
	return ls
}

// value returns the value of the first line called name.
func value(ls []line, name string) (string, bool) {
	for _, l := range ls {
		if l.name == name {
			return l.value, true
		}
	}
	return "", false
}

func expect(t *testing.T, ls []line, name, want string) {
	t.Helper()
	got, ok := value(ls, name)
	if !ok {
		t.Errorf("clinfo printed no %q line", name)
	} else if got != want {
		t.Errorf("clinfo %q = %q, want %q", name, got, want)
	}
}

func testClinfo(t *testing.T, lib string) {
	out, stderr, err := run(t, env(lib, "SVMRT_VRAM=96MiB"), clinfo(t))
	if err != nil {
		t.Fatalf("clinfo: %v\n%s%s", err, out, stderr)
	}
	ls := fields(out)
	expect(t, ls, "Number of platforms", "1")
	expect(t, ls, "Platform Name", "svmrt")
	expect(t, ls, "Platform Extensions", "cl_khr_icd")
	expect(t, ls, "Number of devices", "1")
	expect(t, ls, "Device Type", "GPU")
	expect(t, ls, "Device Name", "simgpu")
	expect(t, ls, "Coarse-grained buffer sharing", "Yes")
	expect(t, ls, "Fine-grained buffer sharing", "Yes")
	expect(t, ls, "Fine-grained system sharing", "Yes")
	expect(t, ls, "Atomics", "Yes")
	expect(t, ls, "Global memory size", fmt.Sprintf("%d (96MiB)", 96<<20))
	expect(t, ls, "Max compute units", "16")
	expect(t, ls, "Max work group size", "1024")
	expect(t, ls, "Local memory size", "65536 (64KiB)")
	// clinfo builds a program and asks its kernel.
	expect(t, ls, "Preferred work group size multiple (kernel)", "32")
	expect(t, ls, "Image support", "No")
	if v, _ := value(ls, "Device Version"); !strings.HasPrefix(v, "OpenCL 3.0 ") {
		t.Errorf("Device Version %q, want OpenCL 3.0", v)
	}
	if v, _ := value(ls, "Platform Version"); !strings.HasPrefix(v, "OpenCL 3.0 ") {
		t.Errorf("Platform Version %q, want OpenCL 3.0", v)
	}
	// The OpenCL C versions: clinfo prints the first on the title's line
	// and the others below it.
	cv := regexp.MustCompile(`OpenCL C\s+0x[0-9a-f]+ \((\d\.\d)\.0\)`).FindAllStringSubmatch(out, -1)
	var versions []string
	for _, m := range cv {
		versions = append(versions, m[1])
	}
	if got := strings.Join(versions, " "); got != "1.2 2.0 3.0" {
		t.Errorf("OpenCL C versions %q, want 1.2 2.0 3.0", got)
	}
	// Every query is answered: clinfo marks a failed one with <...error -N>,
	// including the one it makes through a program it builds (a kernel's
	// preferred work-group size multiple).
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " error -") || strings.Contains(l, "Invalid") {
			t.Errorf("clinfo reports a failed query: %s", strings.TrimSpace(l))
		}
	}
	if t.Failed() {
		t.Logf("clinfo output:\n%s%s", out, stderr)
	}
}

func testClinfoDefaultVRAM(t *testing.T, lib string) {
	out, stderr, err := run(t, env(lib), clinfo(t))
	if err != nil {
		t.Fatalf("clinfo: %v\n%s%s", err, out, stderr)
	}
	expect(t, fields(out), "Global memory size", "268435456 (256MiB)")
}

// A bad SVMRT_VRAM leaves the platform without its device, and says why.
func testClinfoBadVRAM(t *testing.T, lib string) {
	out, stderr, err := run(t, env(lib, "SVMRT_VRAM=12 MB"), clinfo(t))
	if err != nil {
		t.Fatalf("clinfo: %v\n%s%s", err, out, stderr)
	}
	ls := fields(out)
	expect(t, ls, "Platform Name", "svmrt")
	expect(t, ls, "Number of devices", "0")
	if !strings.Contains(stderr, "SVMRT_VRAM=12 MB") {
		t.Errorf("stderr does not name the bad setting:\n%s", stderr)
	}
}

func testQueries(t *testing.T, lib, dir string) {
	testHost(t, lib, dir, "queries", fmt.Sprint(64<<20))
}

// testHost builds the host program testdata/name.c with gcc against the
// ICD loader and runs it with the ICD at lib (and 64 MiB of VRAM): it must
// exit 0 and report no failed check.
func testHost(t *testing.T, lib, dir, name string, args ...string) string {
	t.Helper()
	return testHostEnv(t, lib, dir, name, nil, args...)
}

// testHostEnv is testHost with extra environment variables.
func testHostEnv(t *testing.T, lib, dir, name string, extra []string, args ...string) string {
	t.Helper()
	exe := filepath.Join(dir, name)
	if _, stderr, err := run(t, os.Environ(), "gcc", "-Wall", "-Werror", "-o", exe, filepath.Join("testdata", name+".c"), "-lOpenCL"); err != nil {
		t.Fatalf("gcc %s.c: %v\n%s(scripts/setup.sh installs ocl-icd-opencl-dev and opencl-c-headers)", name, err, stderr)
	}
	out, stderr, err := run(t, env(lib, append([]string{"SVMRT_VRAM=64MiB"}, extra...)...), exe, args...)
	if err != nil || !strings.Contains(out, " 0 failed") {
		t.Errorf("%s: %v\n%s%s", name, err, out, stderr)
	} else {
		t.Log(strings.TrimSpace(out))
	}
	return out
}
