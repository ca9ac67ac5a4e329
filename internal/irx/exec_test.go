package irx

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecution compiles testdata/kernels.cl with clang-15, instruments it,
// links it with testdata/harness.c (which implements the ABI with plain
// memory operations, counts calls and records per-byte read/write coverage of
// every buffer), builds native executables from the instrumented and the
// uninstrumented module and runs both. Results must be identical, and the
// instrumented build must have routed exactly the bytes each kernel touches
// through the ABI, with no access outside the buffers.
func TestExecution(t *testing.T) {
	for _, tl := range []string{"clang-15", "llvm-link-15", "llvm-as-15", "opt-15"} {
		tool(t, tl)
	}
	src, err := os.ReadFile("testdata/kernels.cl")
	if err != nil {
		t.Fatal(err)
	}
	plain := clCompile(t, string(src))
	inst, st, err := Instrument(plain)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	verifyIR(t, inst)
	if st.Loads == 0 || st.Stores == 0 || st.RMW < 4 || st.CAS < 2 || st.Memcpy == 0 || st.Memset == 0 {
		t.Errorf("stats %+v: some access kind was not rewritten", st)
	}

	dir := t.TempDir()
	harness, _ := filepath.Abs("testdata/harness.c")
	run(t, dir, "clang-15", "-O2", "-c", "-emit-llvm", "-o", "h.bc", harness)
	build := func(name, ll string) map[string]*kernelRun {
		// the harness calls kernels as plain C functions
		ll = strings.ReplaceAll(ll, " spir_kernel ", " ")
		if err := os.WriteFile(filepath.Join(dir, name+".ll"), []byte(ll), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, dir, "llvm-link-15", "-o", name+".bc", name+".ll", "h.bc")
		run(t, dir, "clang-15", "-O2", "-o", name, name+".bc")
		out, err := exec.Command(filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return parseRuns(t, string(out))
	}
	want, got := build("plain", plain), build("inst", inst)

	const n, nodes = 13, 7
	r, w, b := "r", "w", "b"
	full := func(c string, size int) string { return strings.Repeat(c, size) }
	expect := map[string]struct {
		cov    map[string]string
		counts map[string]int
	}{
		"scalars": {map[string]string{"c": full(b, n), "s": full(b, 2*n), "i": full(b, 4*n), "l": full(b, 8*n), "f": full(b, 4*n), "d": full(b, 8*n)},
			map[string]int{"ld": 6 * n, "st": 6 * n}},
		"saxpy": {map[string]string{"x": full(r, 4*n), "y": full(b, 4*n)}, map[string]int{"ld": 2 * n, "st": n}},
		// float3 is loaded and stored as float4 (its size and alignment are 16)
		"vec":   {map[string]string{"a": full(b, 16*n), "b": full(b, 16*n)}, map[string]int{"ld": 2 * n, "st": 2 * n}},
		"copy":  {map[string]string{"s": full(r, 24*n), "d": full(w, 24*n)}, map[string]int{"memcpy": n}},
		"clear": {map[string]string{"d": full(w, 24*n)}, map[string]int{"memset": n}},
		"atom": {map[string]string{"ci": full(b, 4), "cl": full(b, 8), "xi": full(b, 4*n), "xl": full(b, 8*n), "oldi": full(w, 4*n), "oldl": full(w, 8*n)},
			map[string]int{"rmw": 4 * n, "cas": 3 * n, "st": 2 * n}},
		"via_generic": {map[string]string{"a": full(b, 4*n)}, map[string]int{"ld": n, "st": n}},
		// a node is { next (8), val (4), padding (4) }: the padding is never read
		"chase": {map[string]string{"nodes": full(r+r+r+r+r+r+r+r+r+r+r+r+"....", nodes), "out": full(w, 4*n)},
			map[string]int{"ld": 2 * nodes * n, "st": n}},
	}
	if len(got) != len(expect) || len(want) != len(expect) {
		t.Fatalf("ran %d/%d kernels, want %d", len(got), len(want), len(expect))
	}
	for k, e := range expect {
		g, p := got[k], want[k]
		if g == nil || p == nil {
			t.Errorf("%s: did not run", k)
			continue
		}
		for buf, data := range p.data {
			if g.data[buf] != data {
				t.Errorf("%s: buffer %s differs:\ninstrumented %s\nplain        %s", k, buf, g.data[buf], data)
			}
		}
		for c, v := range p.counts {
			if v != 0 {
				t.Errorf("%s: uninstrumented build called the ABI: %s=%d", k, c, v)
			}
		}
		for buf, cov := range e.cov {
			if g.cov[buf] != cov {
				t.Errorf("%s: coverage of %s:\ngot  %s\nwant %s", k, buf, g.cov[buf], cov)
			}
		}
		for _, c := range []string{"ld", "st", "rmw", "cas", "memcpy", "memset"} {
			if g.counts[c] != e.counts[c] {
				t.Errorf("%s: %s calls = %d, want %d", k, c, g.counts[c], e.counts[c])
			}
		}
		if g.counts["st_done"] != g.counts["st"] {
			t.Errorf("%s: %d __svm_st but %d __svm_st_done", k, g.counts["st"], g.counts["st_done"])
		}
		if g.counts["stray"] != 0 {
			t.Errorf("%s: %d accesses outside every buffer", k, g.counts["stray"])
		}
	}
}

type kernelRun struct {
	data, cov map[string]string
	counts    map[string]int
}

// parseRuns reads the harness output: "kernel K", "data BUF HEX",
// "cov BUF MAP", "count k=v ...".
func parseRuns(t *testing.T, out string) map[string]*kernelRun {
	t.Helper()
	runs := map[string]*kernelRun{}
	var cur *kernelRun
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "kernel":
			cur = &kernelRun{data: map[string]string{}, cov: map[string]string{}, counts: map[string]int{}}
			runs[f[1]] = cur
		case cur != nil && len(f) == 3 && f[0] == "data":
			cur.data[f[1]] = f[2]
		case cur != nil && len(f) == 3 && f[0] == "cov":
			cur.cov[f[1]] = f[2]
		case cur != nil && len(f) > 1 && f[0] == "count":
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				n := 0
				for _, c := range v {
					n = n*10 + int(c-'0')
				}
				cur.counts[k] = n
			}
		default:
			t.Fatalf("unexpected harness output %q", l)
		}
	}
	return runs
}
