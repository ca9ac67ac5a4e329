package kerneltest_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/kernels/kerneltest"
	"github.com/svmrt/svmrt/runtime"
)

// needToolchain skips t when clang-15 is missing (the cpu and simgpu
// source runs need it).
func needToolchain(t *testing.T, k *kernels.Kernel) {
	t.Helper()
	if _, err := k.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// sourceTargets are the targets that run a kernel's source here.
func sourceTargets() []string {
	ts := []string{"cpu", "simgpu"}
	if runtime.Unavailable("opencl") == nil {
		ts = append(ts, "opencl")
	}
	return ts
}

// libCase returns the library case called name.
func libCase(t *testing.T, name string) kerneltest.Case {
	t.Helper()
	for _, c := range kerneltest.Library() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no library case %s", name)
	return kerneltest.Case{}
}

// fmaKernel's source fuses the multiply-add (fma is one rounding, exact on
// every device), its body rounds the product first: a difference the check
// must find, on every source target, at the one element where the two
// roundings part.
var fmaKernel = &kernels.Kernel{
	Name: "kt_fma",
	Params: []kernels.Param{
		{Name: "y", Kind: kernels.PtrF32, Written: true},
		{Name: "x", Kind: kernels.PtrF32},
		{Name: "a", Kind: kernels.F32},
		{Name: "n", Kind: kernels.I32},
	},
	Source: `__kernel void kt_fma(__global float *y, __global const float *x, float a, int n) {
	int i = get_global_id(0);
	if (i < n) y[i] = fma(a, x[i], y[i]);
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if i < int(a.I32(3)) {
			y, x := a.Ptr(0)+uintptr(i)*4, a.Ptr(1)+uintptr(i)*4
			it.StoreF32(y, float32(a.F32(2)*it.LoadF32(x))+it.LoadF32(y))
		}
	},
}

const fmaAt = 37

// fmaCase: a = x[37] = 1+2^-12 and y[37] = -1, so a*x = 1 + 2^-11 + 2^-24
// exactly; rounded first (a tie, to even) it loses the 2^-24 and the sum is
// 2^-11, fused it is 2^-11 + 2^-24: 2^10 ULPs apart. Every other element is
// exact either way.
func fmaCase() kerneltest.Case {
	const a = 1 + 0x1p-12
	return kerneltest.Case{
		Kernel: fmaKernel,
		Range:  kernels.Range1D(64, 16),
		Inputs: func() []any {
			y, x := make([]float32, 64), make([]float32, 64)
			for i := range x {
				x[i], y[i] = 1, float32(i)
			}
			x[fmaAt], y[fmaAt] = a, -1
			return []any{y, x, float32(a), int32(64)}
		},
	}
}

func TestCheckFindsFusedMultiplyAdd(t *testing.T) {
	needToolchain(t, fmaKernel)
	rep, err := kerneltest.Check(t.Context(), fmaCase(), sourceTargets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.OK() || rep.Err() == nil {
		t.Fatal("report OK, want differences")
	}
	if b := rep.Runs[rep.Baseline]; b.Target != "cpu/go" || b.Path != kerneltest.GoBody {
		t.Fatalf("baseline %s (%s), want the Go body on cpu", b.Target, b.Path)
	}
	for _, run := range rep.Runs[1:] {
		if run.Path != kerneltest.Source || len(run.Diffs) != 1 {
			t.Fatalf("%s: path %s, %d diffs (%v), want the source with one diff", run.Target, run.Path, len(run.Diffs), run.Err)
		}
		d := run.Diffs[0]
		if d.Output != "y" || d.Index != fmaAt || d.Count != 1 || d.Len != 64 || d.Within || d.MaxULPs != 1024 {
			t.Fatalf("%s: diff %+v", run.Target, d)
		}
		// Both values, with their bits.
		if d.Got != "0.00048834085 (0x3a000400)" || d.Want != "0.00048828125 (0x3a000000)" {
			t.Fatalf("%s: got %q want %q", run.Target, d.Got, d.Want)
		}
	}
	s := rep.String()
	for _, w := range []string{"kt_fma: FAIL", "cpu/go", "baseline", "DIFFERS: y[37] = 0.00048834085 (0x3a000400), want 0.00048828125 (0x3a000000); 1 of 64 elements differ (at most 1024 ULP)"} {
		if !strings.Contains(s, w) {
			t.Errorf("report lacks %q:\n%s", w, s)
		}
	}
}

// A documented tolerance accepts the difference up to its bound, and says
// so in the report; one ULP less and it is a failure again.
func TestCheckTolerance(t *testing.T) {
	needToolchain(t, fmaKernel)
	c := fmaCase()
	c.Tolerance = &kerneltest.Tolerance{ULPs: 1024, Why: "the source fuses the multiply-add on purpose"}
	rep, err := kerneltest.Check(t.Context(), c, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !strings.Contains(rep.String(), "within 1024 ULP (tolerance)") || !strings.Contains(rep.String(), "on purpose") {
		t.Fatalf("within tolerance:\n%s", rep)
	}
	c.Tolerance.ULPs = 1023
	if rep, err = kerneltest.Check(t.Context(), c, "cpu"); err != nil || rep.OK() {
		t.Fatalf("beyond tolerance: %v\n%s", err, rep)
	}
	c.Tolerance.Why = " "
	if _, err := kerneltest.Check(t.Context(), c, "cpu"); err == nil {
		t.Fatal("a tolerance without a reason was accepted")
	}
}

// The body writes +0 everywhere; the reference writes -0 at index 5.
// Equal as numbers, different as bits: the check compares bits.
var zeroKernel = &kernels.Kernel{
	Name:   "kt_zero",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		it.StoreF32(a.Ptr(0)+uintptr(it.GlobalID(0))*4, 0)
	},
}

func TestCheckComparesBits(t *testing.T) {
	c := kerneltest.Case{Kernel: zeroKernel, Range: kernels.Range1D(8, 8),
		Inputs: func() []any { return []any{make([]float32, 8)} },
		Reference: func(args []any) {
			args[0].([]float32)[5] = float32(math.Copysign(0, -1))
		},
	}
	rep, err := kerneltest.Check(t.Context(), c, "simgpu/go")
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Runs) != 3 || len(rep.Runs[1].Diffs) != 1 || len(rep.Runs[2].Diffs) != 0 {
		t.Fatalf("-0 and +0 compared equal:\n%s", rep)
	}
	if d := rep.Runs[1].Diffs[0]; d.Index != 5 || d.Got != "-0 (0x80000000)" || d.Want != "0 (0x00000000)" || d.MaxULPs != 1 {
		t.Fatalf("diff %+v", d)
	}
}

// A kernel of a compiled program (OpenCL C only, no Go body) is checked
// against its Reference, on every device: here kt_fma's source (the same
// file name, so the compile is cached) against a Go fused multiply-add.
func TestCheckProgramKernel(t *testing.T) {
	p, err := kernels.Compile(fmaKernel.Source, kernels.WithFileName(fmaKernel.Name+".cl"))
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := fmaCase()
	c.Kernel = p.Kernel("kt_fma")
	c.Reference = func(args []any) {
		y, x, a := args[0].([]float32), args[1].([]float32), args[2].(float32)
		for i := range y {
			// Exact here: every a*x+y of fmaCase is a float32.
			y[i] = float32(math.FMA(float64(a), float64(x[i]), float64(y[i])))
		}
	}
	rep := kerneltest.T(t, c)
	if b := rep.Runs[rep.Baseline]; b.Target != "host/ref" || rep.Compared() < 3 {
		t.Fatalf("baseline %s, want host/ref:\n%s", b.Target, rep)
	}
}

// A body that panics on one path: a failed launch is a difference.
func TestCheckFailedLaunch(t *testing.T) {
	k := &kernels.Kernel{
		Name:   "kt_panic",
		Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
		Body: func(it *kernels.Item, a *kernels.Args) {
			if it.GlobalID(0) == 3 {
				panic("boom")
			}
		},
	}
	c := kerneltest.Case{Kernel: k, Range: kernels.Range1D(8, 8), Reference: func([]any) {},
		Inputs: func() []any { return []any{make([]uint32, 8)} }}
	rep, err := kerneltest.Check(t.Context(), c, "cpu", "simgpu/go")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.OK() || rep.Runs[0].Err == nil || !strings.Contains(rep.String(), "FAILED: ") || !strings.Contains(rep.String(), "boom") {
		t.Fatalf("a panicking body passed:\n%s", rep)
	}
	// A body-only kernel has no source to run: skipped, with the reason.
	if r := rep.Runs[2]; r.Target != "cpu" || r.Skipped != "the kernel has no OpenCL C source" {
		t.Fatalf("cpu run: %+v", r)
	}
	if b := rep.Runs[rep.Baseline]; b.Target != "host/ref" {
		t.Fatalf("baseline %s, want host/ref (the body failed)", b.Target)
	}
}

// Misuse is an error, not a report: inputs that change from call to
// call, an unknown target, a written argument that holds pointers, a case
// without a kernel or inputs, a bad output index.
func TestCheckMisuse(t *testing.T) {
	calls, released := 0, 0
	changing := kerneltest.Case{Kernel: kernels.Saxpy, Range: kernels.SaxpyRange(4), Inputs: func() []any {
		calls++
		return []any{make([]float32, 4), []float32{1, 2, 3, float32(calls)}, float32(2), int32(4)}
	}, Release: func([]any) { released++ }}
	ctx := t.Context()
	if _, err := kerneltest.Check(ctx, changing, "cpu/go", "simgpu/go"); err == nil || !strings.Contains(err.Error(), "different contents") {
		t.Errorf("changing inputs: %v", err)
	}
	if calls != 2 || released != 2 {
		t.Errorf("Inputs called %d times, Release %d: every run's inputs must be released, also on an error", calls, released)
	}
	saxpy := libCase(t, "saxpy/n=65536")
	if _, err := kerneltest.Check(ctx, saxpy, "gpu"); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("unknown target: %v", err)
	}
	ptrs := kerneltest.Case{Kernel: &kernels.Kernel{
		Name: "kt_ptrs", Params: []kernels.Param{{Name: "s", Kind: kernels.PtrAny, Written: true}},
		Body: func(*kernels.Item, *kernels.Args) {},
	}, Range: kernels.Range1D(1, 1), Inputs: func() []any { return []any{[]*int{new(int)}} }}
	if _, err := kerneltest.Check(ctx, ptrs, "cpu/go"); err == nil || !strings.Contains(err.Error(), "holds pointers") {
		t.Errorf("pointer-holding output: %v", err)
	}
	bad := saxpy
	bad.Outputs = []int{4}
	for name, c := range map[string]kerneltest.Case{"no kernel": {Inputs: saxpy.Inputs}, "no inputs": {Kernel: kernels.Saxpy}, "output index": bad} {
		if _, err := kerneltest.Check(ctx, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kerneltest.Check(cancelled, saxpy, "cpu/go"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// Outputs selects what is compared, Results extracts it, Release sees
// every run's arguments.
func TestCheckOutputsAndRelease(t *testing.T) {
	released := 0
	c := libCase(t, "saxpy/n=65536")
	c.Outputs = []int{1} // x: never written, so equal everywhere
	c.Release = func(args []any) { released++ }
	rep, err := kerneltest.Check(t.Context(), c, "cpu/go", "simgpu/go")
	if err != nil || !rep.OK() || rep.Compared() != 3 || released != 3 {
		t.Fatalf("err %v, released %d:\n%s", err, released, rep)
	}
	// Results replaces Outputs: here a sub-slice of y.
	c.Results = func(args []any) []kerneltest.Output {
		return []kerneltest.Output{{Name: "y[:10]", Value: args[0].([]float32)[:10]}}
	}
	ref := c.Reference
	c.Reference = func(args []any) { ref(args); args[0].([]float32)[9]++ }
	rep, err = kerneltest.Check(t.Context(), c, "simgpu/go")
	if err != nil || rep.OK() || !strings.Contains(rep.String(), "y[:10][9] = ") || !strings.Contains(rep.String(), "1 of 10 elements differ") {
		t.Fatalf("results: %v\n%s", err, rep)
	}
}

// HostFast is a path of its own (cpu/fast): SumReduce's runs the same tree
// as the body, bit for bit; MulMat's sgemm does not (blocked sums, FMAs),
// which the check reports rather than hides.
func TestCheckHostFast(t *testing.T) {
	for _, c := range kerneltest.Library() {
		switch {
		case strings.HasPrefix(c.Name, "sum_reduce/") && strings.Contains(c.Name, "local="): // 1-D: HostFast declines the others
			if rep := kerneltest.T(t, c, "cpu/fast"); rep.Runs[2].Path != kerneltest.Fast || !rep.Runs[2].Ran() {
				t.Fatalf("%s: HostFast did not run:\n%s", c.Name, rep)
			}
		case c.Name == "mulmat/m=128":
			rep, err := kerneltest.Check(t.Context(), c, "cpu/fast")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("MulMat's HostFast, for the record (not bit-identical by design):\n%s", rep)
			if r := rep.Runs[2]; !r.Ran() || len(r.Diffs) == 0 {
				t.Fatalf("MulMat's sgemm agreed bit for bit with the body on random data: update kernels.MulMat's doc\n%s", rep)
			}
		}
	}
}

// Without clang-15 the cpu and simgpu source runs are skipped with the
// reason (they would silently run the Go body); the rest still runs.
func TestCheckWithoutToolchain(t *testing.T) {
	t.Setenv("SVMRT_CLANG", "/nonexistent/clang-15")
	if !childtest.InChild(t, "KERNELTEST_NOCLANG_CHILD", time.Minute) {
		return
	}
	if os.Getenv("SVMRT_CLANG") == "" {
		t.Fatal("no override in the child")
	}
	rep, err := kerneltest.Check(t.Context(), libCase(t, "saxpy/special"), "cpu", "simgpu", "simgpu/go")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	for _, r := range rep.Runs {
		switch r.Target {
		case "cpu", "simgpu":
			if !strings.Contains(r.Skipped, "SVMRT_CLANG") {
				t.Errorf("%s: skipped %q, want the missing toolchain", r.Target, r.Skipped)
			}
		default:
			if !r.Ran() {
				t.Errorf("%s did not run: %s %v", r.Target, r.Skipped, r.Err)
			}
		}
	}
	if !rep.OK() || rep.Compared() != 3 {
		t.Fatalf("report:\n%s", rep)
	}
}
