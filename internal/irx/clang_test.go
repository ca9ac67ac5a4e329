package irx

import (
	"errors"
	"strings"
	"testing"
)

// Clang-produced IR with debug info: program-scope variables in the global
// and constant spaces, generic pointers, struct copies, vec3, and !dbg kept
// on everything inserted (the verifier insists once the runtime is inlined).
func TestClangDebugModule(t *testing.T) {
	tool(t, "clang-15")
	ll := clCompile(t, `
typedef struct { int a; float b; long c; char d[5]; } S;
__constant int tab[4] = {1, 2, 3, 4};
__global int counter = 3;
__global S gs;
void gen(int *p) { *p += tab[*p & 3]; }
__kernel void k(__global int *o, __global S *s, __global float3 *v, int i) {
  gen(o);
  o[1] = tab[i] + counter;
  counter = 7;
  gs = s[i];
  s[0] = (S){0};
  v[1] = v[0] * 2.0f;
}
`, "-g")
	out, st, err := Instrument(ll)
	if err != nil {
		t.Fatal(err)
	}
	verifyIR(t, out)
	checkFreshNames(t, out)
	if st.Memcpy != 1 || st.Memset != 1 || st.Loads < 5 || st.Stores < 4 || st.Funcs != 2 {
		t.Errorf("stats %+v", st)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "@__svm_") && !strings.HasPrefix(l, "declare") && !strings.Contains(l, "!dbg") {
			t.Errorf("inserted call without !dbg: %s", l)
		}
		if strings.Contains(l, "ptr addrspace(1) @counter") && strings.Contains(l, "load") {
			t.Errorf("uninstrumented access to a program-scope variable: %s", l)
		}
	}
	for _, w := range []string{"addrspacecast ptr addrspace(1) @counter to ptr", "addrspace(2)"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestClangUnsupportedHasSourceLine(t *testing.T) {
	tool(t, "clang-15")
	ll := clCompile(t, `
__kernel void k(__global short *p) {
  int pad = 0;

  __atomic_fetch_add(p, (short)1, __ATOMIC_RELAXED);
}
`, "-g")
	_, _, err := Instrument(ll)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Line != 5 || ue.Func != "k" || !strings.Contains(ue.Instr, "atomicrmw") {
		t.Fatalf("got %v (%+v), want an UnsupportedError for line 5 of k", err, ue)
	}
}
