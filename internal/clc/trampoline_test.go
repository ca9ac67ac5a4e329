package clc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const trampKernels = `typedef struct { float a; int b; char c; double d; } pair;

__kernel void k(__global float* out, __global const float* in, int n, float scale,
                float4 v, pair p, __local float* scratch, char ch, float3 f3) {
  size_t i = get_global_id(0);
  scratch[0] = in[i] * scale;
  out[i] = scratch[0] + n + v.x + v.w + p.a + p.b + p.c + (float)p.d + ch + f3.z;
}
`

// harness dlopens the kernels' .so and calls the trampoline the way the
// device runtime will: an array of pointers to each argument's bytes. The
// work-item functions the kernel calls are defined here under their mangled
// names (the builtins library is not linked in this test).
const trampHarness = `#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
typedef struct { float a; int b; char c; double d; } pair;
typedef float float4 __attribute__((ext_vector_type(4)));
static unsigned long gid;
unsigned long get_global_id(unsigned d) __asm__("_Z13get_global_idj");
unsigned long get_global_id(unsigned d) { return d == 0 ? gid : 0; }
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
  void (*tramp)(void **) = (void (*)(void **))dlsym(h, "__svm_tramp_k");
  if (!tramp) { fprintf(stderr, "no trampoline\n"); return 3; }
  float out[2] = {0, 0}, in[2] = {1.5f, 2.5f}, scratch[1];
  float *outp = out, *inp = in, *scratchp = scratch;
  int n = 10; float scale = 2.0f;
  float4 v = {100, 0, 0, 1000};
  _Alignas(8) pair p = {0.25f, 20000, 3, 5.0};
  char ch = -7;
  float f3[4] = {0, 0, 0.5f, 99};
  void *args[] = {&outp, &inp, &n, &scale, &v, &p, &scratchp, &ch, f3};
  for (gid = 0; gid < 2; gid++) tramp(args);
  printf("%g %g %g\n", out[0], out[1], scratch[0]);
  return 0;
}
`

func TestTrampolineRunsKernel(t *testing.T) {
	tc := toolchain(t)
	ctx := context.Background()
	m, err := compile(t, tc, trampKernels, "")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := m.Kernel("k")
	ll, err := Trampolines(k)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ll, "call spir_kernel void @k(") || !strings.Contains(ll, "i8 signext %val7") {
		t.Errorf("trampoline:\n%s", ll)
	}
	tbc, err := tc.Asm(ctx, ll)
	if err != nil {
		t.Fatalf("Asm: %v\n%s", err, ll)
	}
	linked, err := tc.Link(ctx, m.BC, tbc)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := tc.Opt(ctx, linked, "-O2")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := tc.Codegen(ctx, opt, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	so, err := tc.SharedObject(ctx, dir, [][]byte{obj})
	if err != nil {
		t.Fatal(err)
	}
	if so2, err := tc.SharedObject(ctx, dir, [][]byte{obj}); err != nil || so2 != so {
		t.Errorf("same objects gave %s, %v; want %s", so2, err, so)
	}
	harness := filepath.Join(dir, "harness")
	csrc := filepath.Join(dir, "harness.c")
	if err := os.WriteFile(csrc, []byte(trampHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tc.ClangPath, "-O1", "-rdynamic", "-o", harness, csrc, "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("harness: %v\n%s", err, out)
	}
	out, err := exec.Command(harness, so).CombinedOutput()
	if err != nil {
		t.Fatalf("harness run: %v\n%s", err, out)
	}
	// out[i] = 2*in[i] + 10 + 100 + 1000 + 0.25 + 20000 + 3 + 5 - 7 + 0.5
	const rest = 10 + 100 + 1000 + 0.25 + 20000 + 3 + 5 - 7 + 0.5
	want := strings.Join([]string{fmtG(2*1.5 + rest), fmtG(2*2.5 + rest), "5"}, " ")
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("harness printed %q, want %q", got, want)
	}
}

func TestCompileCAndCL(t *testing.T) {
	tc := toolchain(t)
	ctx := context.Background()
	cbc, err := tc.CompileC(ctx, "int piece(int x) { return x + 1; }\n")
	if err != nil {
		t.Fatal(err)
	}
	lbc, err := tc.CompileCL(ctx, "float __attribute__((overloadable)) my_sqrt(float x) { return x * 0.5f; }\n")
	if err != nil {
		t.Fatal(err)
	}
	linked, err := tc.Link(ctx, cbc, lbc)
	if err != nil {
		t.Fatal(err)
	}
	ll, err := tc.Dis(ctx, linked)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ll, "@piece(") || !strings.Contains(ll, "@_Z7my_sqrtf(") {
		t.Errorf("linked module lacks a function:\n%s", ll)
	}
	_, err = tc.Opt(ctx, linked, "-passes=no-such-pass")
	var te *ToolError
	if !asToolError(err, &te) || te.Tool != "opt-15" && te.Tool != "opt" || !strings.Contains(te.Stderr, "no-such-pass") {
		t.Errorf("bad opt pass: %v", err)
	}
	if _, err := tc.CompileC(ctx, "int f( {"); err == nil || !strings.Contains(err.Error(), "piece.c:1:") {
		t.Errorf("bad C: %v", err)
	}
}
