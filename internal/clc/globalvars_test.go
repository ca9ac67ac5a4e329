package clc

import (
	"context"
	"testing"
)

// TestGlobalVariableBytes: the bytes of a program's __global variables
// (CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE) — program-scope ones of
// scalar, array, packed-initializer, pointer and struct types, and a
// function-scope static one, each at its alignment; __constant variables
// and a program with none count nothing.
func TestGlobalVariableBytes(t *testing.T) {
	tc := toolchain(t)
	for _, c := range []struct {
		name, src string
		want      int
	}{
		{"none", `__kernel void k(__global int* o) { o[0] = 1; }`, 0},
		{"constant only", `__constant int c = 5;
__kernel void k(__global int* o) { o[0] = c; }`, 0},
		// clang orders them g2 (68 bytes at 0, aligned 16: its initializer
		// makes it a packed <{ float, [16 x float] }>), g1 (4 at 68), gp (8
		// at 72), k.fs (8 at 80), g3 (16 at 88: int, char, padding, double).
		{"mixed", `typedef struct { int a; char b; double c; } S;
__global int g1;
__global float g2[17] = {1};
__global S g3;
__constant int c1 = 5;
__global int* __global gp = &g1;
__kernel void k(__global int* o) { static __global long fs; fs++; o[0] = g1 + g2[1] + g3.a + c1 + *gp + fs; }`, 104},
	} {
		m, err := compile(t, tc, c.src, "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ll, err := m.LL(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, err := GlobalVariableBytes(ll)
		if err != nil || got != c.want {
			t.Errorf("%s: GlobalVariableBytes = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

// TestGlobalVariableBytesSkipsDeclarations: an extern variable (defined in
// another unit of a clLinkProgram) takes no storage in the declaring unit;
// a type the layout cannot size is an error, not a guess.
func TestGlobalVariableBytesSkipsDeclarations(t *testing.T) {
	ll := "@x = external addrspace(1) global i32, align 4\n@y = dso_local addrspace(1) global [3 x i16] zeroinitializer, align 2\n"
	if got, err := GlobalVariableBytes(ll); err != nil || got != 6 {
		t.Errorf("GlobalVariableBytes = %d, %v; want 6", got, err)
	}
	if _, err := GlobalVariableBytes("@z = dso_local addrspace(1) global %struct.Missing zeroinitializer, align 4\n"); err == nil {
		t.Error("an unknown struct type sized without an error")
	}
}
