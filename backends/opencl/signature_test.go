package opencl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in the fourth review, fixed): the signature check
// compared only the argument count and address spaces. A scalar of another
// size was CL_INVALID_ARG_SIZE (not ErrBadArgs); an F32 parameter bound to
// an int argument ran with the float's bits read as an int (a wrong answer,
// no error); a __local argument in the middle matched a scalar parameter;
// a PtrF32 parameter ran on an int* argument.
func TestSignatureTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []kernels.Param
		src    string // the kernel's parameter list
		vals   []any
		names  string // what the error must name
	}{
		{"I32 param, long argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrI32, Written: true}, {Name: "v", Kind: kernels.I32}},
			"__global int *out, long v", []any{[]int32{0}, int32(7)}, "param 1 (v)"},
		{"F32 param, int argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global float *out, int v", []any{[]float32{0}, float32(1.5)}, "param 1 (v)"},
		{"U64 param, __local argument in the middle",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.U64}},
			"__global float *out, __local float *scratch", []any{[]float32{0}, uint64(8)}, "param 1 (v)"},
		{"PtrF32 param, int* argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global int *out, float v", []any{[]float32{0}, float32(2)}, "param 0 (out)"},
		{"PtrU8 param, uint* argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrU8, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global uint *out, float v", []any{[]byte{0}, float32(2)}, "param 0 (out)"},
		{"U32 param, int argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.U32}},
			"__global float *out, int v", []any{[]float32{0}, uint32(3)}, "param 1 (v)"},
	} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s/%v", tc.name, m), func(t *testing.T) {
				d := openTest(t, m)
				name := "test_sig_" + strings.NewReplacer(" ", "_", ",", "", "*", "p", "_", "").Replace(tc.name)
				k := &kernels.Kernel{Name: name, Params: tc.params,
					Source: "__kernel void " + name + "(" + tc.src + ") { }"}
				err := launch(t, d, k, kernels.Range1D(1, 1), tc.vals...)
				if !errors.Is(err, kernels.ErrBadArgs) || !strings.Contains(err.Error(), tc.names) {
					t.Fatalf("got %v, want kernels.ErrBadArgs naming %s", err, tc.names)
				}
				if d.Stats().Launches != 0 {
					t.Fatal("the launch was enqueued")
				}
				t.Log(err)
			})
		}
	}
	// And what matches runs: atomic_uint* for PtrU32, __constant pointers,
	// unsigned spellings, PtrAny on a struct pointer.
	d := openTest(t, ModeAuto)
	k := &kernels.Kernel{Name: "test_sig_ok", Params: []kernels.Param{
		{Name: "a", Kind: kernels.PtrU32, Written: true}, {Name: "b", Kind: kernels.PtrF32}, {Name: "c", Kind: kernels.PtrAny},
		{Name: "u", Kind: kernels.U32}, {Name: "l", Kind: kernels.I64}, {Name: "ul", Kind: kernels.U64}},
		Source: `typedef struct { int x; } S;
__kernel void test_sig_ok(__global volatile atomic_uint *a, __constant float *b, __global S *c, unsigned int u, long l, unsigned long ul) {
	atomic_store_explicit(&a[0], u + (uint)b[0] + (uint)c->x + (uint)l + (uint)ul, memory_order_relaxed, memory_scope_device);
}`}
	out := []uint32{0}
	s := &struct{ X int32 }{X: 5}
	if err := launch(t, d, k, kernels.Range1D(1, 1), out, []float32{2}, s, uint32(1), int64(10), uint64(100)); err != nil || out[0] != 118 {
		t.Fatalf("matching signature: %v, out %d", err, out[0])
	}
}

// Guards against (found in review 4b, the second review of the OpenCL
// backend, fixed): the signature check rejected
// common valid kernels: pointers to vector types (float4* for PtrF32,
// uchar16* for PtrU8), char* for PtrU8, and "unsigned long long" (PoCL:
// "ulong long") for U64. Wrong types stay rejected.
func TestSignatureTypeNames(t *testing.T) {
	d := openTest(t, ModeAuto)
	for i, c := range []struct {
		kind kernels.Kind
		arg  string
		ok   bool
	}{
		{kernels.PtrF32, "__global float4 *x", true},
		{kernels.PtrF32, "__global const float16 *x", true},
		{kernels.PtrF32, "__global float3 *x", true},
		{kernels.PtrI32, "__global int8 *x", true},
		{kernels.PtrU32, "__global uint2 *x", true},
		{kernels.PtrU8, "__global uchar16 *x", true},
		{kernels.PtrU8, "__global char *x", true},
		{kernels.PtrU8, "__global signed char *x", true},
		{kernels.PtrU8, "__global char4 *x", true},
		{kernels.U64, "unsigned long long x", true},
		{kernels.I64, "long long x", true},
		// Still wrong.
		{kernels.PtrF32, "__global int4 *x", false},
		{kernels.PtrF32, "__global double4 *x", false},
		{kernels.PtrU32, "__global float4 *x", false},
		{kernels.PtrU8, "__global short *x", false},
		{kernels.PtrU8, "__global ushort2 *x", false},
		{kernels.PtrI32, "__global uint4 *x", false},
		{kernels.U64, "uint x", false},
		{kernels.I64, "int x", false},
	} {
		name := fmt.Sprintf("test_type_name_%d", i)
		k := &kernels.Kernel{Name: name, Params: []kernels.Param{{Name: "x", Kind: c.kind}},
			Source: "__kernel void " + name + "(" + c.arg + ") { }"}
		p, err := d.sh.program(k)
		if err != nil {
			t.Fatalf("%s: build: %v", c.arg, err)
		}
		err = checkSignature(k, p)
		if c.ok && err != nil {
			t.Errorf("%v param, OpenCL %q (type name %q): rejected: %v", c.kind, c.arg, p.types[0], err)
		}
		if !c.ok && !errors.Is(err, kernels.ErrBadArgs) {
			t.Errorf("%v param, OpenCL %q (type name %q): %v, want kernels.ErrBadArgs", c.kind, c.arg, p.types[0], err)
		}
	}
	// And a vector kernel runs, in either mode, on the program's []float32.
	k := &kernels.Kernel{Name: "test_vec_scale", Params: []kernels.Param{
		{Name: "x", Kind: kernels.PtrF32, Written: true}, {Name: "b", Kind: kernels.PtrU8}, {Name: "n", Kind: kernels.U64}},
		Source: `__kernel void test_vec_scale(__global float4 *x, __global const uchar16 *b, unsigned long long n) {
	size_t i = get_global_id(0);
	if (i < n) x[i] = x[i] * 2.0f + (float)b[0].s1;
}`}
	for _, m := range modes {
		d := openTest(t, m)
		x := make([]float32, 16)
		for i := range x {
			x[i] = float32(i)
		}
		b := make([]byte, 16)
		b[1] = 3
		if err := launch(t, d, k, kernels.Range1D(4, 4), x, b, uint64(4)); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		for i, v := range x {
			if v != float32(i)*2+3 {
				t.Fatalf("%v: x[%d] = %v, want %v", m, i, v, float32(i)*2+3)
			}
		}
	}
}
