package clc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Separately compiled units joined by Link become one program through
// -svmrt-link-bitcode: the kernel of one unit calls a function the other
// defines, and the program's kernel list comes from the linked module.
func TestCompileLinksBitcode(t *testing.T) {
	tc := toolchain(t)
	ctx := context.Background()
	caller, err := compile(t, tc, "int twice(int x);\nkernel void k(global int *p) { p[0] = twice(p[0]); }\n", "")
	if err != nil {
		t.Fatal(err)
	}
	callee, err := compile(t, tc, "int twice(int x) { return 2 * x; }\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if u := UndefinedFunctions(mustLL(t, caller), func(n string) bool { return strings.HasPrefix(n, "_Z") }); len(u) != 1 || u[0].Name != "twice" {
		t.Fatalf("caller's undefined functions %+v, want twice", u)
	}
	bc, err := tc.Link(ctx, caller.BC, callee.BC)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "units.bc")
	if err := os.WriteFile(f, bc, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := noCache(t)
	m, err := tc.Compile(ctx, "", Options{Build: "-svmrt-link-bitcode=" + f, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Kernels) != 1 || m.Kernels[0].Name != "k" || len(m.Kernels[0].Params) != 1 {
		t.Fatalf("linked kernels %+v", m.Kernels)
	}
	if u := UndefinedFunctions(mustLL(t, m), func(n string) bool { return strings.HasPrefix(n, "_Z") }); len(u) != 0 {
		t.Fatalf("linked program leaves %+v undefined", u)
	}

	// The key covers the file's contents, not only its name: other
	// bitcode under the same name is another program.
	if err := os.WriteFile(f, callee.BC, 0o644); err != nil {
		t.Fatal(err)
	}
	m2, err := tc.Compile(ctx, "", Options{Build: "-svmrt-link-bitcode=" + f, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Key == m.Key || len(m2.Kernels) != 0 {
		t.Fatalf("same key %v for other contents, kernels %+v", m2.Key == m.Key, m2.Kernels)
	}

	// A file that is not there is a bad option naming it.
	missing := filepath.Join(t.TempDir(), "none.bc")
	_, err = tc.Compile(ctx, "", Options{Build: "-svmrt-link-bitcode=" + missing, Cache: cache})
	if !errors.Is(err, ErrInvalidBuildOptions) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ParseBuildOptions("-svmrt-link-bitcode="); !errors.Is(err, ErrInvalidBuildOptions) {
		t.Fatalf("empty file name: %v", err)
	}
}

func mustLL(t *testing.T, m *Module) string {
	t.Helper()
	ll, err := m.LL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ll
}
