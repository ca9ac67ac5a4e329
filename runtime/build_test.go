package runtime_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

func buildOrSkip(t *testing.T, src string) *kernels.Program {
	t.Helper()
	p, err := svmrt.Build(context.Background(), src, "")
	if errors.Is(err, svmrt.ErrNoToolchain) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each kind of bad program is its own clear error: clang's diagnostic with
// file and line, an unsupported feature named with its line, a bad options
// string.
func TestBuildErrors(t *testing.T) {
	buildOrSkip(t, `__kernel void ok(__global int *p) { p[0] = 1; }`)
	ctx := context.Background()

	_, err := svmrt.Build(ctx, "__kernel void k(__global int *p) {\n\tp[0] = 1\n}\n", "")
	var be *kernels.BuildError
	if !errors.Is(err, svmrt.ErrBuild) || !errors.As(err, &be) || len(be.Diags) == 0 || be.Diags[0].Line != 2 ||
		be.Diags[0].Severity != "error" || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("syntax error: %v (diags %+v), want ErrBuild at line 2", err, be)
	}

	_, err = svmrt.Build(ctx, "__kernel void k(__global int *p) {\n\tp[0] = 1;\n\tprintf(\"%d\", p[0]);\n}\n", "")
	var ue *kernels.UnsupportedError
	if !errors.Is(err, svmrt.ErrUnsupported) || !errors.Is(err, svmrt.ErrNotSupported) || !errors.As(err, &ue) ||
		ue.Feature != "printf" || ue.Line != 3 {
		t.Errorf("printf: %v (%+v), want ErrUnsupported naming printf at line 3", err, ue)
	}
	_, err = svmrt.Build(ctx, "__kernel void k(read_only image2d_t img, __global float *o) {\n\to[0] = 0;\n}\n", "")
	if !errors.Is(err, svmrt.ErrUnsupported) || !errors.As(err, &ue) || ue.Feature != "images" || ue.Line != 1 {
		t.Errorf("image: %v (%+v), want ErrUnsupported naming images at line 1", err, ue)
	}

	_, err = svmrt.Build(ctx, `__kernel void k(__global int *p) { p[0] = N; }`, "-D N=3 -frobnicate")
	if !errors.Is(err, svmrt.ErrInvalidBuildOptions) || !strings.Contains(err.Error(), "-frobnicate") {
		t.Errorf("bad option: %v, want ErrInvalidBuildOptions naming it", err)
	}
	p, err := svmrt.Build(ctx, `__kernel void k(__global int *p) { p[get_global_id(0)] = N; }`, "-D N=3")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := svmrt.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	out := make([]int32, 8)
	if err := dev.Run(ctx, p.Kernel("k"), kernels.Range1D(8, 8), out); err != nil || out[7] != 3 {
		t.Errorf("-D N=3: %v %v", err, out)
	}
}

// Wrong arguments to a kernel built from source are kernels.ErrBadArgs on
// every device, before anything runs; memory is untouched.
func TestBuildWrongArguments(t *testing.T) {
	p := buildOrSkip(t, `__kernel void scale(__global float *y, __global const float *x, float a) {
	size_t i = get_global_id(0);
	y[i] = a * x[i];
}`)
	k := p.Kernel("scale")
	ctx := context.Background()
	for _, name := range svmrt.DeviceNames() {
		dev, err := svmrt.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float32, 64), make([]float32, 64)
		y[0] = 42
		for _, c := range []struct {
			what string
			args []any
		}{
			{"too few", []any{y, x}},
			{"too many", []any{y, x, float32(1), 4}},
			{"int slice for float*", []any{make([]int32, 64), x, float32(1)}},
			{"string for float", []any{y, x, "2"}},
		} {
			err := dev.Run(ctx, k, kernels.Range1D(64, 64), c.args...)
			if !errors.Is(err, kernels.ErrBadArgs) {
				t.Errorf("%s: %s: %v, want ErrBadArgs", name, c.what, err)
			}
		}
		if y[0] != 42 {
			t.Errorf("%s: a rejected launch wrote y[0] = %v", name, y[0])
		}
		dev.Close()
	}
}

// A module outside this repository defines a kernel as an OpenCL C string
// only and runs it on cpu, simgpu and opencl; run with clang missing from
// its PATH, the same program gets ErrNotSupported naming the packages to
// install.
func TestUserModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module")
	}
	buildOrSkip(t, `__kernel void ok(__global int *p) { p[0] = 1; }`)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/userkernel\n\ngo 1.26\n\nrequire github.com/svmrt/svmrt v0.0.0\n\nreplace github.com/svmrt/svmrt => " + root + "\n"
	files := map[string]string{"go.mod": goMod, "go.sum": string(sum), "main.go": userMain}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "userkernel")
	build := exec.Command("go", "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{"cpu: 0 3 6 3069", "simgpu: 0 3 6 3069"}
	if svmrt.Unavailable("opencl") == nil {
		want = append(want, "opencl: 0 3 6 3069")
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	noClang := exec.Command(bin)
	noClang.Env = []string{"PATH=" + dir, "HOME=" + dir}
	out, _ = noClang.CombinedOutput()
	if !strings.Contains(string(out), "build: not supported=true") || !strings.Contains(string(out), "clang-15") {
		t.Errorf("without clang: want ErrNotSupported naming clang-15, got:\n%s", out)
	}
}

const userMain = `package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

const src = ` + "`" + `
__kernel void triple(__global int *out, __global const int *in) {
	size_t i = get_global_id(0);
	out[i] = 3 * in[i];
}` + "`" + `

func main() {
	ctx := context.Background()
	prog, err := svmrt.Build(ctx, src, "")
	if err != nil {
		fmt.Printf("build: not supported=%v: %v\n", errors.Is(err, svmrt.ErrNotSupported), err)
		os.Exit(0)
	}
	for _, name := range svmrt.DeviceNames() {
		dev, err := svmrt.Open(name)
		if err != nil {
			fmt.Println(name, err)
			os.Exit(1)
		}
		in, out := make([]int32, 1024), make([]int32, 1024)
		for i := range in {
			in[i] = int32(i)
		}
		if err := dev.Run(ctx, prog.Kernel("triple"), kernels.Range1D(len(in), 64), out, in); err != nil {
			fmt.Println(name, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d %d %d %d\n", name, out[0], out[1], out[2], out[1023])
		dev.Close()
	}
}
`
