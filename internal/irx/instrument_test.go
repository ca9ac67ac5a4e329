package irx

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/errdefs"
)

const header = `target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-unknown-linux-gnu"
`

// instrumentOK instruments ll, checks the result with the LLVM tools and
// that every wanted line occurs (after trimming) in the output.
func instrumentOK(t *testing.T, ll string, want ...string) (string, Stats) {
	t.Helper()
	out, st, err := Instrument(header + ll)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("missing line %q in\n%s", w, out)
		}
	}
	checkFreshNames(t, out)
	verifyIR(t, out)
	return out, st
}

var defRE = regexp.MustCompile(`^\s*(%[-a-zA-Z$._0-9]+|%"[^"]*") =`)

// checkFreshNames fails if a function defines a local name twice.
func checkFreshNames(t *testing.T, out string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "define") {
			seen = map[string]bool{}
		}
		if m := defRE.FindStringSubmatch(l); m != nil {
			n := strings.Trim(strings.TrimPrefix(m[1], "%"), `"`)
			if seen[n] {
				t.Errorf("%%%s defined twice", n)
			}
			seen[n] = true
		}
	}
}

func TestLoadStoreForms(t *testing.T) {
	ll := `%struct.P = type { i8, i32, [3 x i16], <3 x float> }
@g = addrspace(1) global i32 0, align 4
@tab = addrspace(2) constant [4 x i32] [i32 1, i32 2, i32 3, i32 4], align 16
@loc = addrspace(3) global i32 undef, align 4

define void @f(ptr addrspace(1) %p, ptr addrspace(4) %"q x", ptr %priv, ptr addrspace(3) %l, i64 %i) {
entry:
  %0 = load i32, ptr addrspace(1) %p, align 4, !tbaa !1
  store i32 %0, ptr addrspace(4) %"q x", align 4
  %1 = load i8, ptr addrspace(2) getelementptr inbounds ([4 x i32], ptr addrspace(2) @tab, i64 0, i64 2), align 1
  %v = load volatile <3 x float>, ptr addrspace(1) %p, align 16
  store volatile <3 x float> <float 1.0, float 2.0, float 3.0>, ptr addrspace(1) %p, align 16 ; comment
  %s = load %struct.P, ptr addrspace(1) %p, align 16
  store %struct.P %s, ptr addrspace(4) %"q x", align 16
  %a = load atomic i64, ptr addrspace(1) %p syncscope("agent") acquire, align 8
  store atomic i64 %a, ptr addrspace(1) @g seq_cst, align 8
  %b = load i1, ptr addrspace(1) @g, align 1
  %h = load half, ptr addrspace(1) @g, align 2
  %pp = load ptr addrspace(1), ptr addrspace(1) %p, align 8
  %arr = load [3 x i16], ptr addrspace(1) %pp, align 2
  %x = load x86_fp80, ptr addrspace(1) %pp, align 16
  %gen = addrspacecast ptr addrspace(1) %pp to ptr addrspace(4)
  %gv = getelementptr inbounds i32, ptr addrspace(4) %gen, i64 %i
  store i32 7, ptr addrspace(4) %gv, align 4
  store i32 1, ptr addrspace(1) inttoptr (i64 4096 to ptr addrspace(1)), align 4
  %private = load i32, ptr %priv, align 4
  store i32 %private, ptr addrspace(3) %l, align 4
  %local = load i32, ptr addrspace(3) @loc, align 4
  store i32 %local, ptr %priv, align 4
  ret void
}

!1 = !{!2, !2, i64 0}
!2 = !{!"int", !3, i64 0}
!3 = !{!"omnipotent char", !4, i64 0}
!4 = !{!"Simple C/C++ TBAA"}
`
	out, st := instrumentOK(t, ll,
		`%svm.1 = addrspacecast ptr addrspace(1) %p to ptr`,
		`%svm.2 = call ptr @__svm_ld(ptr %svm.1, i64 4)`,
		`%0 = load i32, ptr %svm.2, align 4, !tbaa !1`,
		`%svm.3 = addrspacecast ptr addrspace(4) %"q x" to ptr`,
		`%svm.4 = call ptr @__svm_st(ptr %svm.3, i64 4)`,
		`store i32 %0, ptr %svm.4, align 4`,
		`call void @__svm_st_done(ptr %svm.4, i64 4)`,
		`%svm.5 = addrspacecast ptr addrspace(2) getelementptr inbounds ([4 x i32], ptr addrspace(2) @tab, i64 0, i64 2) to ptr`,
		`%svm.6 = call ptr @__svm_ld(ptr %svm.5, i64 1)`,
		`%v = load volatile <3 x float>, ptr %svm.8, align 16`,
		`%svm.8 = call ptr @__svm_ld(ptr %svm.7, i64 12)`,
		`%svm.10 = call ptr @__svm_st(ptr %svm.9, i64 12)`,
		`store volatile <3 x float> <float 1.0, float 2.0, float 3.0>, ptr %svm.10, align 16`,
		`%svm.12 = call ptr @__svm_ld(ptr %svm.11, i64 32)`, // { i8, i32, [3 x i16], <3 x float> }
		`%svm.14 = call ptr @__svm_st(ptr %svm.13, i64 32)`,
		`%a = load atomic i64, ptr %svm.16 syncscope("agent") acquire, align 8`,
		`%svm.17 = addrspacecast ptr addrspace(1) @g to ptr`,
		`store atomic i64 %a, ptr %svm.18 seq_cst, align 8`,
		`%svm.20 = call ptr @__svm_ld(ptr %svm.19, i64 1)`,  // i1
		`%svm.22 = call ptr @__svm_ld(ptr %svm.21, i64 2)`,  // half
		`%svm.24 = call ptr @__svm_ld(ptr %svm.23, i64 8)`,  // ptr
		`%svm.26 = call ptr @__svm_ld(ptr %svm.25, i64 6)`,  // [3 x i16]
		`%svm.28 = call ptr @__svm_ld(ptr %svm.27, i64 10)`, // x86_fp80
		`%svm.29 = addrspacecast ptr addrspace(4) %gv to ptr`,
		`%svm.31 = addrspacecast ptr addrspace(1) inttoptr (i64 4096 to ptr addrspace(1)) to ptr`,
		`%private = load i32, ptr %priv, align 4`,
		`store i32 %private, ptr addrspace(3) %l, align 4`,
		`%local = load i32, ptr addrspace(3) @loc, align 4`,
		`declare ptr @__svm_ld(ptr, i64)`,
		`declare ptr @__svm_st(ptr, i64)`,
		`declare void @__svm_st_done(ptr, i64)`,
	)
	want := Stats{Loads: 10, Stores: 6, Funcs: 1}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if n := strings.Count(out, "declare ptr @__svm_ld"); n != 1 {
		t.Errorf("%d declarations of __svm_ld", n)
	}
}

func TestSizes(t *testing.T) {
	lay := layout{defs: map[string]string{
		"%struct.S": "{ i32, float, i64, [5 x i8] }",
		"%packed":   "<{ i8, i32 }>",
		"%nest":     "{ %packed, %struct.S }",
		"%o":        "opaque",
	}, cache: map[string]*irType{}}
	for _, c := range []struct {
		ty   string
		size int64
	}{
		{"i1", 1}, {"i8", 1}, {"i16", 2}, {"i24", 3}, {"i32", 4}, {"i64", 8}, {"i128", 16},
		{"float", 4}, {"double", 8}, {"half", 2}, {"ptr", 8}, {"ptr addrspace(1)", 8},
		{"<3 x float>", 12}, {"<4 x float>", 16}, {"<2 x double>", 16}, {"<8 x i1>", 1}, {"<3 x i8>", 3},
		{"[5 x i8]", 5}, {"[2 x <3 x float>]", 32}, {"{ i8, i64 }", 16}, {"{ i64, i8 }", 16},
		{"%struct.S", 24}, {"%packed", 5}, {"%nest", 32}, {"[2 x %packed]", 10}, {"<{ i8, double }>", 9},
		{"{}", 0}, {"[3 x ptr]", 24}, {"{ i128, i8 }", 24},
	} {
		ty, rest, err := parseType(c.ty)
		if err != nil || rest != "" {
			t.Errorf("parseType(%q): %v, rest %q", c.ty, err, rest)
			continue
		}
		got, err := lay.storeSize(ty)
		if err != nil || got != c.size {
			t.Errorf("storeSize(%s) = %d, %v; want %d", c.ty, got, err, c.size)
		}
	}
	for _, bad := range []string{"%o", "%undefined", "<vscale x 4 x i32>", "i32*", "i32 addrspace(1)*"} {
		ty, _, err := parseType(bad)
		if err == nil {
			_, err = lay.storeSize(ty)
		}
		if err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestAtomics(t *testing.T) {
	var body strings.Builder
	var want []string
	n := 0
	for _, ty := range []string{"i32", "i64"} {
		for _, op := range []string{"xchg", "add", "sub", "and", "nand", "or", "xor", "max", "min", "umax", "umin"} {
			n++
			body.WriteString("  %r" + itoa(n) + " = atomicrmw volatile " + op + " ptr addrspace(1) %p, " + ty + " 1 syncscope(\"agent\") monotonic, align 8\n")
			want = append(want, "%r"+itoa(n)+" = call "+ty+" @__svm_rmw_"+op+"_"+ty+"(ptr %svm."+itoa(n)+", "+ty+" 1)",
				"declare "+ty+" @__svm_rmw_"+op+"_"+ty+"(ptr, "+ty+")")
		}
	}
	ll := `define i64 @f(ptr addrspace(1) %p, ptr addrspace(4) %q, ptr addrspace(1) %pp, ptr %old, ptr %new) {
` + body.String() + `  %fa = atomicrmw fadd ptr addrspace(4) %q, float 1.5 seq_cst, align 4
  %fs = atomicrmw fsub ptr addrspace(4) %q, double 2.0 seq_cst, align 8
  %fx = atomicrmw xchg ptr addrspace(1) %p, float 3.0 seq_cst, align 4
  %px = atomicrmw xchg ptr addrspace(1) %pp, ptr %new acq_rel, align 8
  %c = cmpxchg ptr addrspace(1) %p, i32 0, i32 1 seq_cst seq_cst, align 4
  %c.ok = extractvalue { i32, i1 } %c, 1
  %c.old = extractvalue { i32, i1 } %c, 0
  %w = cmpxchg weak volatile ptr addrspace(4) %q, i64 5, i64 6 syncscope("workgroup") acq_rel monotonic, align 8
  %pc = cmpxchg ptr addrspace(1) %pp, ptr %old, ptr %new seq_cst seq_cst, align 8
  %pc.old = extractvalue { ptr, i1 } %pc, 0
  %loc = atomicrmw add ptr addrspace(3) null, i32 1 seq_cst, align 4
  %pv = atomicrmw add ptr %old, i8 1 seq_cst, align 1
  %w.old = extractvalue { i64, i1 } %w, 0
  ret i64 %w.old
}
`
	want = append(want,
		`%fa = call float @__svm_rmw_fadd_f32(ptr %svm.23, float 1.5)`,
		`%fs = call double @__svm_rmw_fsub_f64(ptr %svm.24, double 2.0)`,
		`%fx = call float @__svm_rmw_xchg_f32(ptr %svm.25, float 3.0)`,
		`%svm.27 = ptrtoint ptr %new to i64`,
		`%svm.28 = call i64 @__svm_rmw_xchg_i64(ptr %svm.26, i64 %svm.27)`,
		`%px = inttoptr i64 %svm.28 to ptr`,
		`%svm.30 = call i32 @__svm_cas_i32(ptr %svm.29, i32 0, i32 1)`,
		`%svm.31 = icmp eq i32 %svm.30, 0`,
		`%svm.32 = insertvalue { i32, i1 } poison, i32 %svm.30, 0`,
		`%c = insertvalue { i32, i1 } %svm.32, i1 %svm.31, 1`,
		`%svm.34 = call i64 @__svm_cas_i64(ptr %svm.33, i64 5, i64 6)`,
		`%svm.38 = ptrtoint ptr %old to i64`,
		`%svm.39 = ptrtoint ptr %new to i64`,
		`%svm.40 = call i64 @__svm_cas_i64(ptr %svm.37, i64 %svm.38, i64 %svm.39)`,
		`%svm.41 = icmp eq i64 %svm.40, %svm.38`,
		`%svm.43 = inttoptr i64 %svm.40 to ptr`,
		`%svm.42 = insertvalue { ptr, i1 } poison, ptr %svm.43, 0`,
		`%pc = insertvalue { ptr, i1 } %svm.42, i1 %svm.41, 1`,
		`%loc = atomicrmw add ptr addrspace(3) null, i32 1 seq_cst, align 4`,
		`%pv = atomicrmw add ptr %old, i8 1 seq_cst, align 1`,
		`declare i32 @__svm_cas_i32(ptr, i32, i32)`,
	)
	_, st := instrumentOK(t, ll, want...)
	if st.RMW != 26 || st.CAS != 3 || st.Loads+st.Stores != 0 {
		t.Errorf("stats %+v", st)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestIntrinsics(t *testing.T) {
	ll := `%struct.S = type { i32, float }

define void @f(ptr addrspace(1) %d, ptr addrspace(1) %s, ptr %priv, ptr addrspace(3) %l, ptr addrspace(4) %g, i32 %n) {
  call void @llvm.memcpy.p1.p1.i64(ptr addrspace(1) noundef align 8 dereferenceable(24) %d, ptr addrspace(1) noundef align 8 dereferenceable(24) %s, i64 24, i1 false), !tbaa.struct !1
  tail call void @llvm.memcpy.p0.p1.i32(ptr align 4 %priv, ptr addrspace(1) align 4 %s, i32 %n, i1 false)
  call void @llvm.memmove.p3.p4.i64(ptr addrspace(3) %l, ptr addrspace(4) %g, i64 8, i1 true)
  call void @llvm.memcpy.inline.p1.p0.i64(ptr addrspace(1) %d, ptr %priv, i64 16, i1 false)
  call void @llvm.memset.p1.i64(ptr addrspace(1) align 8 %d, i8 0, i64 24, i1 false)
  call void @llvm.memset.p4.i32(ptr addrspace(4) %g, i8 -1, i32 %n, i1 false)
  call void @llvm.memset.inline.p1.i64(ptr addrspace(1) %d, i8 1, i64 4, i1 false)
  call void @llvm.memcpy.p3.p0.i64(ptr addrspace(3) %l, ptr %priv, i64 8, i1 false)
  call void @llvm.memset.p0.i64(ptr %priv, i8 0, i64 8, i1 false)
  call void @llvm.prefetch.p1(ptr addrspace(1) %d, i32 0, i32 3, i32 1)
  call void @llvm.prefetch.p0(ptr %priv, i32 0, i32 3, i32 1)
  call void @llvm.lifetime.start.p0(i64 8, ptr %priv)
  call void @llvm.dbg.value(metadata ptr addrspace(1) %d, metadata !2, metadata !DIExpression())
  %m = call ptr addrspace(1) @llvm.ptrmask.p1.i64(ptr addrspace(1) %d, i64 -16)
  call void @helper(ptr addrspace(1) %d)
  ret void
}

define internal void @helper(ptr addrspace(1) %p) {
  store i8 1, ptr addrspace(1) %p, align 1
  ret void
}

declare void @llvm.memcpy.p1.p1.i64(ptr addrspace(1) noalias nocapture writeonly, ptr addrspace(1) noalias nocapture readonly, i64, i1 immarg)
declare void @llvm.memcpy.p0.p1.i32(ptr, ptr addrspace(1), i32, i1 immarg)
declare void @llvm.memmove.p3.p4.i64(ptr addrspace(3), ptr addrspace(4), i64, i1 immarg)
declare void @llvm.memcpy.inline.p1.p0.i64(ptr addrspace(1), ptr, i64 immarg, i1 immarg)
declare void @llvm.memset.p1.i64(ptr addrspace(1), i8, i64, i1 immarg)
declare void @llvm.memset.p4.i32(ptr addrspace(4), i8, i32, i1 immarg)
declare void @llvm.memset.inline.p1.i64(ptr addrspace(1), i8, i64 immarg, i1 immarg)
declare void @llvm.memcpy.p3.p0.i64(ptr addrspace(3), ptr, i64, i1 immarg)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1 immarg)
declare void @llvm.prefetch.p1(ptr addrspace(1), i32, i32, i32)
declare void @llvm.prefetch.p0(ptr, i32, i32, i32)
declare void @llvm.lifetime.start.p0(i64 immarg, ptr)
declare void @llvm.dbg.value(metadata, metadata, metadata)
declare ptr addrspace(1) @llvm.ptrmask.p1.i64(ptr addrspace(1), i64)

!llvm.module.flags = !{!5}
!1 = !{i64 0, i64 4, !3}
!2 = !DILocalVariable(name: "d", scope: !4)
!3 = !{!"int"}
!4 = distinct !DISubprogram(name: "f", spFlags: DISPFlagDefinition, unit: !6)
!5 = !{i32 2, !"Debug Info Version", i32 3}
!6 = distinct !DICompileUnit(language: DW_LANG_C99, file: !7, isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!7 = !DIFile(filename: "k.cl", directory: "/")
`
	out, st := instrumentOK(t, ll,
		`call void @__svm_memcpy(ptr %svm.1, ptr %svm.2, i64 24)`,
		`%svm.4 = zext i32 %n to i64`,
		`call void @__svm_memcpy(ptr %priv, ptr %svm.3, i64 %svm.4)`,
		`%svm.5 = addrspacecast ptr addrspace(3) %l to ptr`,
		`%svm.6 = addrspacecast ptr addrspace(4) %g to ptr`,
		`call void @__svm_memcpy(ptr %svm.5, ptr %svm.6, i64 8)`,
		`call void @__svm_memcpy(ptr %svm.7, ptr %priv, i64 16)`,
		`call void @__svm_memset(ptr %svm.8, i8 0, i64 24)`,
		`call void @__svm_memset(ptr %svm.9, i8 -1, i64 %svm.10)`,
		`call void @__svm_memset(ptr %svm.11, i8 1, i64 4)`,
		`call void @llvm.memcpy.p3.p0.i64(ptr addrspace(3) %l, ptr %priv, i64 8, i1 false)`,
		`call void @llvm.memset.p0.i64(ptr %priv, i8 0, i64 8, i1 false)`,
		`call void @llvm.prefetch.p0(ptr %priv, i32 0, i32 3, i32 1)`,
		`call void @llvm.dbg.value(metadata ptr addrspace(1) %d, metadata !2, metadata !DIExpression())`,
		`%m = call ptr addrspace(1) @llvm.ptrmask.p1.i64(ptr addrspace(1) %d, i64 -16)`,
		`call void @helper(ptr addrspace(1) %d)`,
		`declare void @__svm_memcpy(ptr, ptr, i64)`,
		`declare void @__svm_memset(ptr, i8, i64)`,
	)
	if strings.Contains(out, "call void @llvm.prefetch.p1") {
		t.Error("prefetch of global memory kept")
	}
	want := Stats{Memcpy: 4, Memset: 3, Prefetch: 1, Stores: 1, Funcs: 2}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestUnsupported(t *testing.T) {
	for _, c := range []struct{ name, instr, line string }{
		{"i8 rmw", `%r = atomicrmw add ptr addrspace(1) %p, i8 1 seq_cst, align 1, !dbg !9`, "12"},
		{"i16 xchg", `%r = atomicrmw xchg ptr addrspace(4) %p, i16 1 seq_cst, align 2`, ""},
		{"fmax", `%r = atomicrmw fmax ptr addrspace(1) %p, float 1.0 seq_cst, align 4, !dbg !9`, "12"},
		{"fadd i32", `%r = atomicrmw fadd ptr addrspace(1) %p, i32 1 seq_cst, align 4`, ""},
		{"and float", `%r = atomicrmw and ptr addrspace(1) %p, float 1.0 seq_cst, align 4`, ""},
		{"i16 cas", `%r = cmpxchg ptr addrspace(2) %p, i16 1, i16 2 seq_cst seq_cst, align 2`, ""},
		{"masked load", `%r = call <4 x i32> @llvm.masked.load.v4i32.p1(ptr addrspace(1) %p, i32 4, <4 x i1> <i1 true, i1 true, i1 true, i1 true>, <4 x i32> poison), !dbg !9`, "12"},
		{"gather", `%r = call <2 x i32> @llvm.masked.gather.v2i32.v2p1(<2 x ptr addrspace(1)> %vp, i32 4, <2 x i1> <i1 true, i1 true>, <2 x i32> poison)`, ""},
		{"element memcpy", `call void @llvm.memcpy.element.unordered.atomic.p1.p1.i64(ptr addrspace(1) align 4 %p, ptr addrspace(1) align 4 %p, i64 8, i32 4)`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ll := header + `define void @kern(ptr addrspace(1) %p, <2 x ptr addrspace(1)> %vp) {
  ` + c.instr + `
  ret void
}
!9 = !DILocation(line: 12, column: 3, scope: !10)
`
			_, _, err := Instrument(ll)
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want *UnsupportedError", err)
			}
			if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errdefs.ErrNotSupported) {
				t.Errorf("%v does not match ErrUnsupported and ErrNotSupported", err)
			}
			wantLine := 0
			if c.line != "" {
				wantLine = 12
			}
			if ue.Func != "kern" || ue.Line != wantLine || ue.Instr != c.instr || ue.Reason == "" {
				t.Errorf("got %+v", ue)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		ll   string
		line int
	}{
		{"define void @f(ptr addrspace(1) %p) {\n  %x = load i32, i32 addrspace(1)* %p\n  ret void\n}\n", 4},
		{"define void @f(ptr addrspace(1) %p) {\n  ret void\n  %x = load i32\n}\n", 5},
		{"define void @f(ptr addrspace(1) %p) {\n  store frob 1, ptr addrspace(1) %p\n}\n", 4},
		{"define void @f(ptr addrspace(1) %p) {\n  ret void\n", 3},
	} {
		_, _, err := Instrument(header + c.ll)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line {
			t.Errorf("%q: got %v, want a ParseError at line %d", c.ll, err, c.line)
		}
	}
}

func TestFreshNamesAvoidExisting(t *testing.T) {
	ll := `define void @f(ptr addrspace(1) %p) {
  %svm.1 = load i32, ptr addrspace(1) %p, align 4
  %"svm.2" = add i32 %svm.1, 1
  store i32 %"svm.2", ptr addrspace(1) %p, align 4
  ret void
}

define void @g(ptr addrspace(1) %p) {
  %svm.5 = load i32, ptr addrspace(1) %p, align 4
  ret void
}

declare ptr @__svm_ld(ptr, i64)
`
	out, _ := instrumentOK(t, ll,
		`%svm.3 = addrspacecast ptr addrspace(1) %p to ptr`,
		`%svm.4 = call ptr @__svm_ld(ptr %svm.3, i64 4)`,
		`%svm.1 = load i32, ptr %svm.4, align 4`,
		`%svm.9 = call ptr @__svm_ld(ptr %svm.8, i64 4)`,
	)
	if n := strings.Count(out, "declare ptr @__svm_ld("); n != 1 {
		t.Errorf("__svm_ld declared %d times", n)
	}
}

// Unnamed instructions take the next number; the rewrite must keep that.
func TestNumberedValuesKeepNumbering(t *testing.T) {
	ll := `define i32 @f(ptr addrspace(1) %0) {
  %2 = load i32, ptr addrspace(1) %0, align 4
  atomicrmw add ptr addrspace(1) %0, i32 1 seq_cst, align 4
  cmpxchg ptr addrspace(1) %0, i32 %2, i32 0 seq_cst seq_cst, align 4
  %5 = extractvalue { i32, i1 } %4, 0
  %6 = add i32 %5, %3
  ret i32 %6
}
`
	_, st := instrumentOK(t, ll, `call i32 @__svm_rmw_add_i32(ptr %svm.3, i32 1)`)
	if st.RMW != 1 || st.CAS != 1 || st.Loads != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMemoryAttributesDropped(t *testing.T) {
	ll := `define i32 @leaf(ptr addrspace(1) %p) #0 {
  %v = load i32, ptr addrspace(1) %p, align 4
  ret i32 %v
}

define i32 @mid(ptr addrspace(1) %p) readonly #0 {
  %v = call i32 @leaf(ptr addrspace(1) %p) #1
  ret i32 %v
}

define i32 @pure(i32 %x) #0 {
  ret i32 %x
}

define i32 @top(ptr addrspace(1) %p) #2 {
  %a = call i32 @mid(ptr addrspace(1) %p) #1
  %b = call i32 @pure(i32 %a) #1
  ret i32 %b
}

attributes #0 = { argmemonly nofree nosync readonly willreturn "x"="a b" }
attributes #1 = { nounwind readonly }
attributes #2 = { nounwind }
`
	out, _ := instrumentOK(t, ll,
		`define i32 @leaf(ptr addrspace(1) %p) #3 {`,
		`define i32 @mid(ptr addrspace(1) %p) #3 {`,
		`define i32 @pure(i32 %x) #0 {`,
		`define i32 @top(ptr addrspace(1) %p) #2 {`,
		`%v = call i32 @leaf(ptr addrspace(1) %p) #4`,
		`%a = call i32 @mid(ptr addrspace(1) %p) #4`,
		`%b = call i32 @pure(i32 %a) #1`,
		`attributes #3 = { nofree willreturn "x"="a b" }`,
		`attributes #4 = { nounwind }`,
	)
	_ = out
}

func TestNoAccessesUnchanged(t *testing.T) {
	ll := header + `define void @f(ptr %p, ptr addrspace(3) %l) #0 {
  %v = load i32, ptr %p, align 4
  store i32 %v, ptr addrspace(3) %l, align 4
  switch i32 %v, label %d [
    i32 0, label %d
  ]
d:
  ret void
}
attributes #0 = { argmemonly }
`
	out, st, err := Instrument(ll)
	if err != nil || out != ll || st != (Stats{}) {
		t.Fatalf("changed: %v %+v\n%s", err, st, out)
	}
}
