package devrt

import (
	"errors"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// The rewrite of static __local variables on a module the way clang
// writes them: the definitions go, each function naming one computes its
// address from the group's block at entry (after the entry label), and
// constant expressions on them — nested ones too — become instructions.
func TestStaticLocalsRewrite(t *testing.T) {
	const ll = `%struct.pair = type { i32, float }
@k.a = internal unnamed_addr addrspace(3) global i32 undef, align 4
@k.ab = internal addrspace(3) global [4 x <4 x float>] undef, align 16, !dbg !3
@k.p = internal addrspace(3) global %struct.pair undef, align 8
@other = internal constant i32 7

define spir_kernel void @k(ptr addrspace(1) %out) {
entry:
  store i32 1, ptr addrspace(3) @k.a, align 4
  %v = load <4 x float>, ptr addrspace(3) getelementptr inbounds ([4 x <4 x float>], ptr addrspace(3) @k.ab, i64 0, i64 2), align 16
  %g = load i32, ptr addrspace(4) addrspacecast (ptr addrspace(3) getelementptr inbounds (%struct.pair, ptr addrspace(3) @k.p, i64 0, i32 0) to ptr addrspace(4)), align 4
  %h = load i32, ptr addrspace(4) addrspacecast (ptr addrspace(3) getelementptr inbounds (%struct.pair, ptr addrspace(3) @k.p, i64 0, i32 0) to ptr addrspace(4)), align 4
  ret void
}

define void @untouched(ptr %p) {
  %x = load i32, ptr @other
  ret void
}
`
	out, size, err := staticLocals(ll)
	if err != nil {
		t.Fatal(err)
	}
	// a at 0 (4 bytes), ab at 16 (64), p at 80 (8): 88, rounded to 128.
	if size != 128 {
		t.Errorf("block size %d, want 128", size)
	}
	for _, want := range []string{
		"entry:\n  %svm.slb = call ptr @__svm_static_local()\n  %svm.sl3 = addrspacecast ptr %svm.slb to ptr addrspace(3)\n",
		"%svm.sl.0 = getelementptr inbounds i8, ptr addrspace(3) %svm.sl3, i64 0\n",
		"%svm.sl.1 = getelementptr inbounds i8, ptr addrspace(3) %svm.sl3, i64 16\n",
		"%svm.sl.2 = getelementptr inbounds i8, ptr addrspace(3) %svm.sl3, i64 80\n",
		"store i32 1, ptr addrspace(3) %svm.sl.0, align 4",
		"%svm.ce.0 = getelementptr inbounds [4 x <4 x float>], ptr addrspace(3) %svm.sl.1, i64 0, i64 2\n",
		"%v = load <4 x float>, ptr addrspace(3) %svm.ce.0, align 16",
		"%svm.ce.1 = getelementptr inbounds %struct.pair, ptr addrspace(3) %svm.sl.2, i64 0, i32 0\n",
		"%svm.ce.2 = addrspacecast ptr addrspace(3) %svm.ce.1 to ptr addrspace(4)\n",
		"%g = load i32, ptr addrspace(4) %svm.ce.2, align 4",
		"%h = load i32, ptr addrspace(4) %svm.ce.2, align 4", // the same expression, one value
		"define void @untouched(ptr %p) {\n  %x = load i32, ptr @other\n",
		"declare ptr @__svm_static_local()",
		"@__svm_static_local_size = constant i64 128",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rewritten module lacks %q:\n%s", want, out)
		}
	}
	for _, gone := range []string{"@k.a ", "@k.ab", "@k.p", "global i32 undef"} {
		if strings.Contains(out, gone) {
			t.Errorf("rewritten module still has %q:\n%s", gone, out)
		}
	}
	if strings.Count(out, "%svm.slb = call") != 1 {
		t.Errorf("the untouched function got the block too:\n%s", out)
	}
}

// A module without static __local variables is left as it is.
func TestStaticLocalsNone(t *testing.T) {
	const ll = "@g = addrspace(1) global i32 0\ndefine void @f() {\n  ret void\n}\n"
	out, size, err := staticLocals(ll)
	if err != nil || size != 0 || out != ll {
		t.Fatalf("got size %d, err %v, changed %v", size, err, out != ll)
	}
}

// Over-aligned variables (more than the block's 64 bytes) are refused by
// name rather than misplaced.
func TestStaticLocalsOverAligned(t *testing.T) {
	const ll = "@k.big = internal addrspace(3) global [4 x float] undef, align 128\n"
	_, _, err := staticLocals(ll)
	if !errors.Is(err, errdefs.ErrNotSupported) || !strings.Contains(err.Error(), "k.big") {
		t.Fatalf("got %v, want ErrNotSupported naming k.big", err)
	}
}

// A compare in a constant expression (clang folds "&v == NULL" into one)
// becomes an instruction with its second operand untyped: the constant form
// types both (the CTS's compare_pointers and to_local(ls) == ls failed to
// assemble: "invalid use of function-local name").
func TestStaticLocalsCompare(t *testing.T) {
	const ll = `@k.v = internal addrspace(3) global i32 undef, align 4

define spir_kernel void @k(ptr addrspace(1) %out, i1 %c) {
entry:
  %r = or i1 %c, icmp eq (ptr addrspace(3) @k.v, ptr addrspace(3) null)
  %s = and i1 %c, icmp ne (ptr addrspace(4) addrspacecast (ptr addrspace(3) @k.v to ptr addrspace(4)), ptr addrspace(4) null)
  store i32 zext (i1 icmp eq (ptr addrspace(3) @k.v, ptr addrspace(3) null) to i32), ptr addrspace(1) %out, align 4
  ret void
}
`
	out, _, err := staticLocals(ll)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"%svm.ce.0 = icmp eq ptr addrspace(3) %svm.sl.0, null\n",
		"%r = or i1 %c, %svm.ce.0\n",
		"%svm.ce.1 = addrspacecast ptr addrspace(3) %svm.sl.0 to ptr addrspace(4)\n",
		"%svm.ce.2 = icmp ne ptr addrspace(4) %svm.ce.1, null\n",
		"%s = and i1 %c, %svm.ce.2\n",
		"%svm.ce.3 = zext i1 %svm.ce.0 to i32\n", // the same compare, one value
		"store i32 %svm.ce.3, ptr addrspace(1) %out, align 4\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rewritten module lacks %q:\n%s", want, out)
		}
	}
	if _, err := untypeSecond("ptr %a, i32 0"); err == nil {
		t.Error("operands of two types: no error")
	}
}
