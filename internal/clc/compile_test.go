package clc

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/errdefs"
)

const sigSrc = `typedef struct { float a; int b; } pair;
typedef struct { char c; double d; float3 v; pair p[2]; } node;

__kernel __attribute__((reqd_work_group_size(8, 1, 1)))
void saxpy(__global float* y, __global const float* x, float a, int n,
           pair p, float4 v, __local float* tmp, __constant int* c) {
  int i = get_global_id(0);
  tmp[0] = 1;
  y[i] = a * x[i] + p.a + v.x + c[0];
}

__kernel __attribute__((work_group_size_hint(4, 2, 1), vec_type_hint(float4)))
void k2(__global node* nd, node n, float3 f3, double d, char ch, uchar2 u2,
        long l, __global volatile int* restrict vi) {
  nd->c = n.c + f3.x + d + ch + u2.x + l;
  vi[0] = 1;
}
`

func TestCompileKernelSignatures(t *testing.T) {
	tc := toolchain(t)
	m, err := compile(t, tc, sigSrc, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Std != StdCL30 || len(m.BC) == 0 || len(m.Key) != 64 {
		t.Fatalf("Std %q, %d bytes of bitcode, key %q", m.Std, len(m.BC), m.Key)
	}
	if len(m.Kernels) != 2 {
		t.Fatalf("kernels: %+v", m.Kernels)
	}
	s, _ := m.Kernel("saxpy")
	if s.Line != 5 || s.File != "prog.cl" {
		t.Errorf("saxpy at %s:%d, want prog.cl:5", s.File, s.Line)
	}
	if s.ReqdWorkGroupSize != [3]int{8, 1, 1} || s.WorkGroupSizeHint != [3]int{} {
		t.Errorf("saxpy sizes %v %v", s.ReqdWorkGroupSize, s.WorkGroupSizeHint)
	}
	type want struct {
		name      string
		as        AddrSpace
		ty, elem  string
		ptr, cnst bool
		size, al  int
		byval     bool
		llvm      string
		writable  bool
	}
	wants := []want{
		{"y", Global, "float*", "float", true, false, 8, 8, false, "ptr addrspace(1)", true},
		{"x", Global, "float*", "float", true, true, 8, 8, false, "ptr addrspace(1)", false},
		{"a", Private, "float", "", false, false, 4, 4, false, "float", false},
		{"n", Private, "int", "", false, false, 4, 4, false, "i32", false},
		{"p", Private, "pair", "", false, false, 8, 4, true, "ptr", false},
		{"v", Private, "float4", "", false, false, 16, 16, false, "<4 x float>", false},
		{"tmp", Local, "float*", "float", true, false, 8, 8, false, "ptr addrspace(3)", false},
		{"c", Constant, "int*", "int", true, true, 8, 8, false, "ptr addrspace(2)", false},
	}
	if len(s.Params) != len(wants) {
		t.Fatalf("saxpy params: %+v", s.Params)
	}
	for i, w := range wants {
		p := s.Params[i]
		got := want{p.Name, p.AddrSpace, p.Type, p.Elem, p.Pointer, p.Const, p.Size, p.Align, p.ByVal, p.LLVMType, p.Writable()}
		if got != w {
			t.Errorf("param %d = %+v\n want %+v", i, got, w)
		}
	}
	if p := s.Params[4]; p.ByValType != "%struct.pair" || p.ABIAttrs != "byval(%struct.pair) align 4" {
		t.Errorf("pair: ByValType %q ABIAttrs %q", p.ByValType, p.ABIAttrs)
	}
	if s.Params[5].BaseType != "float __attribute__((ext_vector_type(4)))" {
		t.Errorf("float4 base type %q", s.Params[5].BaseType)
	}

	k, _ := m.Kernel("k2")
	if k.VecTypeHint != "<4 x float>" || s.VecTypeHint != "" {
		t.Errorf("VecTypeHint %q / %q", k.VecTypeHint, s.VecTypeHint)
	}
	if k.WorkGroupSizeHint != [3]int{4, 2, 1} || k.ReqdWorkGroupSize != [3]int{} {
		t.Errorf("k2 sizes %v %v", k.ReqdWorkGroupSize, k.WorkGroupSizeHint)
	}
	sizes := map[string][2]int{"nd": {8, 8}, "n": {48, 16}, "f3": {16, 16}, "d": {8, 8}, "ch": {1, 1}, "u2": {2, 2}, "l": {8, 8}, "vi": {8, 8}}
	for _, p := range k.Params {
		if w := sizes[p.Name]; [2]int{p.Size, p.Align} != w {
			t.Errorf("k2 %s: size %d align %d, want %v", p.Name, p.Size, p.Align, w)
		}
	}
	if p := k.Params[0]; p.Elem != "node" || !p.Writable() {
		t.Errorf("nd: %+v", p)
	}
	if p := k.Params[4]; p.ABIAttrs != "signext" || p.LLVMType != "i8" {
		t.Errorf("char param: %+v", p)
	}
	if p := k.Params[7]; !p.Volatile || !p.Restrict || p.Const {
		t.Errorf("vi quals: %+v", p)
	}
	if len(k.TypeDefs) != 2 || !strings.HasPrefix(k.TypeDefs[0], "%struct.pair = type") {
		t.Errorf("k2 TypeDefs %q", k.TypeDefs)
	}
	ll, err := m.LL(context.Background())
	if err != nil || !strings.Contains(ll, "spir_kernel void @saxpy(") {
		t.Fatalf("LL: %v", err)
	}
	// No vectorization at this stage, and the address spaces survive.
	if !strings.Contains(ll, "addrspace(3)") || strings.Contains(ll, "load <") {
		t.Errorf("unexpected IR:\n%s", ll)
	}
}

// TestLayoutMatchesClang compares Layout's sizes with what clang computes
// for sizeof and alignof of the same types.
func TestLayoutMatchesClang(t *testing.T) {
	tc := toolchain(t)
	src := `
typedef struct { char c; double d; float3 v; } A;
typedef struct { char c; A a[3]; short s; } B;
typedef struct __attribute__((packed)) { char c; int i; double d; } P;
typedef struct { P p; char c; long4 l; } C;
typedef union { char c[5]; int i; } U;
typedef struct { uchar3 u; char c; half h; ushort s[3]; } D;
typedef struct { B b; U u; int __attribute__((aligned(32))) x; } E;
#define T(t) __global int sz_##t = sizeof(t), al_##t = __alignof__(t);
T(A) T(B) T(P) T(C) T(U) T(D) T(E)
__kernel void use(__global A* a, __global B* b, __global P* p, __global C* c, __global U* u, __global D* d, __global E* e) {
  a->c = b->s + p->i + c->c + u->i + d->c + e->x;
}
__kernel void byv(E e, __global int* o) { o[0] = e.x; }`
	m, err := compile(t, tc, src, "")
	if err != nil {
		t.Fatal(err)
	}
	ll, err := m.LL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := NewLayout(ll)
	re := regexp.MustCompile(`(?m)^@(sz|al)_(\w+) = .* global i32 (\d+)`)
	got := map[string]int{}
	for _, mm := range re.FindAllStringSubmatch(ll, -1) {
		got[mm[1]+mm[2]], _ = strconv.Atoi(mm[3])
	}
	types := map[string]string{"A": "%struct.A", "B": "%struct.B", "P": "%struct.P", "C": "%struct.C", "U": "%union.U", "D": "%struct.D", "E": "%struct.E"}
	for name, ir := range types {
		if name == "E" {
			continue // see below
		}
		size, align, err := l.SizeAlign(ir)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if size != got["sz"+name] || align != got["al"+name] {
			t.Errorf("%s (%s): layout size %d align %d, clang %d %d", name, ir, size, align, got["sz"+name], got["al"+name])
		}
	}
	// LLVM struct types carry no alignment beyond their members'; an
	// aligned(32) member shows only in the byval parameter's align, which
	// ParamInfo.Align takes.
	if k, _ := m.Kernel("byv"); k.Params[0].Size != 192 || k.Params[0].Align != 32 {
		t.Errorf("byval E: size %d align %d, want 192 32", k.Params[0].Size, k.Params[0].Align)
	}
	delete(types, "E")
	if len(got) != 2*len(types)+2 {
		t.Errorf("found %d sizeof globals: %v", len(got), got)
	}
}

func TestSyntaxErrorDiag(t *testing.T) {
	tc := toolchain(t)
	src := "__kernel void f(__global int* o) {\n  o[0] = 1;\n  o[1] = oops;\n}\n"
	_, err := compile(t, tc, src, "")
	var be *BuildError
	if !errors.As(err, &be) || !errors.Is(err, ErrBuild) {
		t.Fatalf("err = %v, want *BuildError / ErrBuild", err)
	}
	d, ok := be.FirstError()
	if !ok || d.File != "prog.cl" || d.Line != 3 || d.Column != 10 || d.Severity != "error" ||
		!strings.Contains(d.Message, "undeclared identifier 'oops'") {
		t.Fatalf("first error %+v", d)
	}
	if !strings.HasPrefix(err.Error(), "clc: build failed: prog.cl:3:10: error: use of undeclared identifier 'oops'") {
		t.Errorf("Error() = %q", err)
	}
	if errors.Is(err, ErrUnsupported) {
		t.Error("a plain syntax error is ErrUnsupported")
	}
}

func TestBuildOptions(t *testing.T) {
	tc := toolchain(t)
	src := `__kernel void f(__global int* o) { o[0] = VAL + EXTRA; }`
	m, err := compile(t, tc, src, `-D VAL=41 -DEXTRA=1 -cl-std=CL2.0 -cl-mad-enable -cl-fast-relaxed-math -w -cl-kernel-arg-info`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Std != StdCL20 {
		t.Errorf("Std %q", m.Std)
	}
	ll, _ := m.LL(context.Background())
	if !strings.Contains(ll, "store i32 42") {
		t.Errorf("-D not applied:\n%s", ll)
	}
	m0, err := compile(t, tc, src, "-DVAL=1 -DEXTRA=2 -cl-opt-disable")
	if err != nil {
		t.Fatal(err)
	}
	ll0, _ := m0.LL(context.Background())
	if !strings.Contains(ll0, "optnone") {
		t.Error("-cl-opt-disable did not give optnone code")
	}
	for _, bad := range []string{"-cl-std=CL1.1", "-fno-builtin", "-D", "-D 1x", "-cl-denorms-are-zero -O3", `-DX="a`} {
		_, err := compile(t, tc, src, bad)
		var be *BuildError
		if !errors.As(err, &be) || !errors.Is(err, ErrInvalidBuildOptions) || errors.Is(err, ErrBuild) {
			t.Errorf("%q: err = %v, want ErrInvalidBuildOptions", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), "invalid build option") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := compile(t, tc, src, "-DVAL=1 -DEXTRA=2 -Werror -cl-std=CL1.2"); err != nil {
		t.Errorf("CL1.2: %v", err)
	}
}

func TestFeatureSet(t *testing.T) {
	tc := toolchain(t)
	src := `
#if defined(__opencl_c_images) || defined(__opencl_c_pipes) || defined(__opencl_c_device_enqueue) || defined(__opencl_c_subgroups)
#error optional feature advertised
#endif
#if !defined(__opencl_c_generic_address_space) || !defined(__opencl_c_program_scope_global_variables) || !defined(__opencl_c_fp64) || !defined(__opencl_c_int64) || !defined(__opencl_c_atomic_scope_all_devices)
#error feature missing
#endif
#if __OPENCL_VERSION__ != 300
#error __OPENCL_VERSION__ is not the devices' OpenCL 3.0
#endif
__global long counter;
__kernel void f(__global atomic_long* o, __global double* d) {
  atomic_fetch_add_explicit(o, 1, memory_order_seq_cst, memory_scope_all_svm_devices);
  atomic_fetch_add_explicit(o, 1, memory_order_acq_rel, memory_scope_device);
  d[0] = d[1] * 2.0;
  counter++;
}`
	if _, err := compile(t, tc, src, ""); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedFeatures(t *testing.T) {
	tc := toolchain(t)
	cases := []struct {
		name, build, src, feature string
		line                      int
		kernel                    string
	}{
		{"image param", "", "\n__kernel void f(__read_only image2d_t im, __global float4* o) { }", FeatureImages, 2, ""},
		{"sampler param", "", "__kernel void f(sampler_t s, __global int* o) { o[0] = 1; }", FeatureImages, 1, ""},
		{"pipe", "", "__kernel void f(__read_only pipe int p, __global int* o) { read_pipe(p, o); }", FeaturePipes, 1, ""},
		{"enqueue", "", "__kernel void f(__global int* o) {\n  queue_t q = get_default_queue();\n}", FeatureDeviceEnqueue, 2, ""},
		{"subgroup", "", "__kernel void f(__global int* o) {\n\n  o[0] = sub_group_reduce_add(o[1]);\n}", FeatureSubgroups, 3, ""},
		{"printf", "", "__kernel void f(__global int* o) {\n  printf(\"%d\\n\", o[0]);\n}", FeaturePrintf, 2, "f"},
		// CL2.0 makes these core: clang accepts them, the IR scan catches them.
		{"image CL2.0", "-cl-std=CL2.0", "__kernel void f(__read_only image2d_t im, __global float4* o) {\n  o[0] = read_imagef(im, (int2)(0, 0));\n}", FeatureImages, 1, "f"},
		{"read_imagef CL2.0", "-cl-std=CL2.0", "float4 get(image2d_t im) {\n  return read_imagef(im, (int2)(0, 0));\n}\n__kernel void f(__global float4* o) { }", FeatureImages, 2, "get"},
		{"pipe CL2.0", "-cl-std=CL2.0", "__kernel void f(__read_only pipe int p, __global int* o) { read_pipe(p, o); }", FeaturePipes, 1, "f"},
		{"enqueue CL2.0", "-cl-std=CL2.0", "__kernel void f(__global int* o) {\n  queue_t q = get_default_queue();\n  enqueue_kernel(q, CLK_ENQUEUE_FLAGS_NO_WAIT, ndrange_1D(1), ^{ o[0] = 1; });\n}", FeatureDeviceEnqueue, 2, "f"},
		{"subgroup CL2.0", "-cl-std=CL2.0", "__kernel void f(__global int* o) {\n  o[0] = get_sub_group_size();\n}", FeatureSubgroups, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := compile(t, tc, c.src, c.build)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || !errors.Is(err, errdefs.ErrNotSupported) {
				t.Fatalf("err = %v, want *UnsupportedError", err)
			}
			if ue.Feature != c.feature || ue.Line != c.line || ue.File != "prog.cl" {
				t.Errorf("got %+v (%v), want %s at line %d", ue, err, c.feature, c.line)
			}
			if c.kernel != "" && ue.Kernel != c.kernel {
				t.Errorf("Kernel %q, want %q", ue.Kernel, c.kernel)
			}
			if !strings.Contains(err.Error(), c.feature) {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestUndefinedFunctions(t *testing.T) {
	tc := toolchain(t)
	src := "float helper(float x) { return x; }\n__kernel void f(__global float* o) {\n  size_t i = get_global_id(0);\n  o[i] = sqrt(o[i]) + helper(o[0]);\n}\n"
	m, err := compile(t, tc, src, "")
	if err != nil {
		t.Fatal(err)
	}
	ll, _ := m.LL(context.Background())
	all := UndefinedFunctions(ll, nil)
	names := map[string]Undefined{}
	for _, u := range all {
		names[u.Demangled] = u
	}
	if len(all) != 2 || names["get_global_id"].Line != 3 || names["sqrt"].Line != 4 {
		t.Fatalf("undefined = %+v", all)
	}
	if names["sqrt"].Name != "_Z4sqrtf" {
		t.Errorf("sqrt symbol %q", names["sqrt"].Name)
	}
	left := UndefinedFunctions(ll, func(n string) bool { return n == "_Z13get_global_idj" })
	if len(left) != 1 {
		t.Fatalf("left = %+v", left)
	}
	err = NotImplemented(left[0])
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errdefs.ErrNotSupported) ||
		err.Error() != "prog.cl:4: builtin sqrt is not implemented" {
		t.Errorf("NotImplemented = %q", err)
	}
}

func TestDemangle(t *testing.T) {
	for in, want := range map[string]string{
		"_Z11read_imagef14ocl_image2d_roDv2_i": "read_imagef",
		"_Z13get_global_idj":                   "get_global_id",
		"printf":                               "printf",
		"_Z":                                   "_Z",
		"_Z99x":                                "_Z99x",
	} {
		if got := Demangle(in); got != want {
			t.Errorf("Demangle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDiagnostics(t *testing.T) {
	log := "a.cl:2:5: error: bad thing\n  x = 1;\n    ^\ninc/h.h:10:1: warning: meh\nclang-15: error: unknown argument: '-foo'\n2 errors generated.\n"
	ds := ParseDiagnostics(log)
	want := []Diag{
		{File: "a.cl", Line: 2, Column: 5, Severity: "error", Message: "bad thing"},
		{File: "inc/h.h", Line: 10, Column: 1, Severity: "warning", Message: "meh"},
		{Severity: "error", Message: "unknown argument: '-foo'"},
	}
	if len(ds) != len(want) {
		t.Fatalf("diags %+v", ds)
	}
	for i := range want {
		if ds[i] != want[i] {
			t.Errorf("diag %d = %+v, want %+v", i, ds[i], want[i])
		}
	}
}
