package devrt

import (
	"context"
	"testing"

	"github.com/svmrt/svmrt/internal/clc"
)

// TestProgramsWithGlobalsGetTheirOwnLoad: two programs compiled from one
// source with __global variables get two loads of the module (the first
// program the shared one, the second a private copy), each asked again
// gives the same; programs without such variables share one load. (The
// Khronos CTS's progvar tests found a second program reading the first
// one's values: both ran in the one load that dlopen keeps per file.)
func TestProgramsWithGlobalsGetTheirOwnLoad(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	compile := func(src string) *clc.Module {
		m, err := tc.Compile(ctx, src, clc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	build := func(m *clc.Module, target Target) *Module {
		mod, err := Build(ctx, tc, m, target)
		if err != nil {
			t.Fatal(err)
		}
		return mod
	}
	const withVars = `__global int hits; __global long big[100] = {1};
__kernel void k(__global int *o) { static __global int n; o[0] = hits++ + n++ + (int)big[o[1]]++; }`
	const without = `__constant int c = 3; __kernel void k(__global int *o) { o[0] = c; }`
	for _, target := range []Target{Native, Instrumented} {
		a, b := compile(withVars), compile(withVars)
		if a.Key != b.Key || a.Instance() == b.Instance() {
			t.Fatalf("keys %q %q, instances %d %d", a.Key, b.Key, a.Instance(), b.Instance())
		}
		ma, mb, again := build(a, target), build(b, target), build(a, target)
		if ma == mb || ma.h == mb.h || again != ma {
			t.Errorf("%v: programs with variables share a load (%p %p, again %p)", target, ma, mb, again)
		}
		// hits (4) + big (800, aligned 8 or 16) + k.n (4): 808 bytes and
		// up to 16 of padding, depending on the order the optimiser leaves
		// them in (every one is written, so none is folded away).
		if ma.GlobalBytes < 808 || ma.GlobalBytes > 824 || mb.GlobalBytes != ma.GlobalBytes {
			t.Errorf("%v: GlobalBytes %d and %d, want 808..824", target, ma.GlobalBytes, mb.GlobalBytes)
		}
		if ma.lo == 0 || mb.lo == 0 || ma.lo == mb.lo {
			t.Errorf("%v: module ranges %#x and %#x", target, ma.lo, mb.lo)
		}
		c, d := compile(without), compile(without)
		mc, md := build(c, target), build(d, target)
		if mc != md || mc.GlobalBytes != 0 {
			t.Errorf("%v: programs without variables got loads %p and %p (GlobalBytes %d)", target, mc, md, mc.GlobalBytes)
		}
	}
}
