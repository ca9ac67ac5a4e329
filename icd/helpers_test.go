package icd

import (
	"os"
	"path/filepath"
	"testing"
)

// The pure helpers behind the OpenCL calls, tested in the package: the
// calls themselves are tested through the ICD loader (icd_test.go).

func TestPickLocal(t *testing.T) {
	for _, c := range []struct {
		dims         int
		global, want [3]int
	}{
		{1, [3]int{1024, 1, 1}, [3]int{256, 1, 1}},
		{1, [3]int{1000, 1, 1}, [3]int{250, 1, 1}},
		{1, [3]int{7, 1, 1}, [3]int{7, 1, 1}},
		{1, [3]int{997, 1, 1}, [3]int{1, 1, 1}}, // a prime above the budget
		{2, [3]int{16, 64, 1}, [3]int{16, 16, 1}},
		{3, [3]int{8, 4, 2}, [3]int{8, 4, 2}},
	} {
		got := pickLocal(c.dims, c.global)
		// Whatever it picks must divide the global size and fit the budget.
		total := 1
		for d := 0; d < 3; d++ {
			if c.global[d]%got[d] != 0 {
				t.Errorf("pickLocal(%d, %v) = %v: %d does not divide %d", c.dims, c.global, got, got[d], c.global[d])
			}
			total *= got[d]
		}
		if total > 256 {
			t.Errorf("pickLocal(%d, %v) = %v: %d work-items", c.dims, c.global, got, total)
		}
		if got != c.want {
			t.Errorf("pickLocal(%d, %v) = %v, want %v", c.dims, c.global, got, c.want)
		}
	}
}

func TestCLType(t *testing.T) {
	for ll, want := range map[string]string{
		"float": "float", "<4 x float>": "float4", "<2 x i32>": "int2", "i64": "long", "<16 x i8>": "char16",
		"%struct.pair": "", "": "",
	} {
		if got := clType(ll); got != want {
			t.Errorf("clType(%q) = %q, want %q", ll, got, want)
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	p := &program{built: "-D N=3 -cl-std=CL2.0", source: "__kernel void k(__global int *p) { p[0] = N; }\n"}
	b, err := parseBinary(p.binaryOf())
	if err != nil || b.options != p.built || b.source != p.source || b.bc != nil {
		t.Errorf("parseBinary(source binary) = %+v, %v", b, err)
	}
	bc := []byte("BC\xc0\xde\x00bitcode")
	for _, c := range []struct {
		p    *program
		kind byte
	}{
		{&program{unit: bc, std: "CL1.2", binType: binTypeObject}, bitcodeObject},
		{&program{unit: bc, std: "CL3.0", binType: binTypeLibrary}, bitcodeLibrary},
		{&program{unit: bc, std: "CL2.0", built: "-cl-fast-relaxed-math"}, bitcodeExecutable},
	} {
		b, err := parseBinary(c.p.binaryOf())
		if err != nil || b.kind != c.kind || b.std != c.p.std || b.options != c.p.built || string(b.bc) != string(bc) {
			t.Errorf("parseBinary(bitcode binary of kind %c) = %+v, %v", c.kind, b, err)
		}
	}
	for _, bad := range []string{"", "ELF", sourceMagic, sourceMagic + "opts\x00src\x00more",
		bitcodeMagic, bitcodeMagic + "x", bitcodeMagic + "oCL3.0", bitcodeMagic + "oCL9.9\n\x00BC\xc0\xde",
		bitcodeMagic + "oCL3.0\nopts\x00ELF", bitcodeMagic + "eCL3.0\nopts"} {
		if b, err := parseBinary([]byte(bad)); err == nil {
			t.Errorf("parseBinary(%q) accepted: %+v", bad, b)
		}
	}
}

func TestWriteHeaders(t *testing.T) {
	t.Setenv("SVMRT_CACHE_DIR", t.TempDir())
	dir, err := writeHeaders([]string{"a.h", "sub/b.h"}, []string{"#define A 1\n", "#define B 2\n"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub", "b.h")); err != nil || string(b) != "#define B 2\n" {
		t.Errorf("sub/b.h: %q, %v", b, err)
	}
	again, err := writeHeaders([]string{"a.h", "sub/b.h"}, []string{"#define A 1\n", "#define B 2\n"})
	if err != nil || again != dir {
		t.Errorf("the same headers: %s, %v; want %s", again, err, dir)
	}
	other, err := writeHeaders([]string{"a.h", "sub/b.h"}, []string{"#define A 1\n", "#define B 3\n"})
	if err != nil || other == dir {
		t.Errorf("other headers: %s, %v; want a directory other than %s", other, err, dir)
	}
	for _, name := range []string{"/etc/passwd", "../x.h", "a/../../x.h"} {
		if _, err := writeHeaders([]string{name}, []string{""}); err == nil {
			t.Errorf("writeHeaders accepted the include name %q", name)
		}
	}
}
