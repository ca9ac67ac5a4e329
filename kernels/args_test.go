package kernels

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// every binds one parameter of each kind.
var every = &Kernel{
	Name: "every",
	Params: []Param{
		{Name: "f", Kind: PtrF32, Written: true},
		{Name: "i", Kind: PtrI32},
		{Name: "u", Kind: PtrU32},
		{Name: "b", Kind: PtrU8},
		{Name: "any", Kind: PtrAny},
		{Name: "sf", Kind: F32},
		{Name: "si", Kind: I32},
		{Name: "su", Kind: U32},
		{Name: "sl", Kind: I64},
		{Name: "sul", Kind: U64},
	},
	Body: func(*Item, *Args) {},
}

func TestBindKinds(t *testing.T) {
	f := make([]float32, 10)
	i := make([]int32, 3)
	u := make([]uint32, 5)
	b := make([]byte, 7)
	type pair struct{ A, B uint64 }
	obj := &pair{}
	a, err := Bind(every, f, i, u, b, obj, float32(1.5), -7, uint32(1<<31), int64(-1<<40), uint64(1<<63))
	if err != nil {
		t.Fatal(err)
	}
	wantRanges := []Range{
		{uintptr(unsafe.Pointer(&f[0])), 40, true},
		{uintptr(unsafe.Pointer(&i[0])), 12, false},
		{uintptr(unsafe.Pointer(&u[0])), 20, false},
		{uintptr(unsafe.Pointer(&b[0])), 7, false},
		{uintptr(unsafe.Pointer(obj)), 16, false},
	}
	for j, w := range wantRanges {
		if a.Ranges[j] != w || a.Ptr(j) != w.Start {
			t.Errorf("param %d: range %+v ptr %#x, want %+v", j, a.Ranges[j], a.Ptr(j), w)
		}
	}
	for j := 5; j < 10; j++ {
		if a.Ranges[j] != (Range{}) {
			t.Errorf("scalar %d has range %+v", j, a.Ranges[j])
		}
	}
	if a.F32(5) != 1.5 || a.I32(6) != -7 || a.U32(7) != 1<<31 || a.I64(8) != -1<<40 || a.U64(9) != 1<<63 {
		t.Errorf("scalars: %v %v %v %v %v", a.F32(5), a.I32(6), a.U32(7), a.I64(8), a.U64(9))
	}
	if a.Words[6] != uint64(math.MaxUint64-6) {
		t.Errorf("I32 word not sign-extended: %#x", a.Words[6])
	}
	if len(a.Keep) != 10 || a.Keep[4] != any(obj) {
		t.Errorf("Keep = %v", a.Keep)
	}
	if a.Ranges[0].End() != a.Ranges[0].Start+40 {
		t.Error("End")
	}
}

func TestBindPointerForms(t *testing.T) {
	k := &Kernel{Name: "p", Params: []Param{{Name: "x", Kind: PtrF32}, {Name: "y", Kind: PtrAny}}}
	var arr [6]float32
	x := float32(3)
	type myF float32
	named := make([]myF, 2)
	lst := []*ListNode{{Value: 1}, {Value: 2}}
	cases := []struct {
		name   string
		v0, v1 any
		start  uintptr
		length uintptr
	}{
		{"array pointer", &arr, &x, uintptr(unsafe.Pointer(&arr)), 24},
		{"element pointer", &x, unsafe.Pointer(&x), uintptr(unsafe.Pointer(&x)), 4},
		{"unsafe.Pointer", unsafe.Pointer(&arr[2]), uintptr(7), uintptr(unsafe.Pointer(&arr[2])), 0},
		{"uintptr", uintptr(0x1000), lst, 0x1000, 0},
		{"named element type", named, []uint64{1}, uintptr(unsafe.Pointer(&named[0])), 8},
		{"empty slice", []float32{}, []byte(nil), 0, 0},
		{"nil slice", []float32(nil), (*ListNode)(nil), 0, 0},
		{"untyped nil", nil, nil, 0, 0},
		{"nil pointer", (*float32)(nil), lst[0], 0, 0},
	}
	for _, c := range cases {
		a, err := Bind(k, c.v0, c.v1)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Ranges[0].Start != c.start || a.Ranges[0].Len != c.length {
			t.Errorf("%s: range %+v, want start %#x len %d", c.name, a.Ranges[0], c.start, c.length)
		}
	}
	// []*T for PtrAny names the slice of pointers (8 bytes each).
	a := mustBind(t, k, []float32{1}, lst)
	if a.Ranges[1].Start != uintptr(unsafe.Pointer(&lst[0])) || a.Ranges[1].Len != 16 {
		t.Errorf("[]*ListNode range %+v", a.Ranges[1])
	}
	if a := mustBind(t, k, nil, lst[1]); a.Ranges[1].Len != unsafe.Sizeof(ListNode{}) {
		t.Errorf("*ListNode range %+v", a.Ranges[1])
	}
}

func TestBindScalarConversions(t *testing.T) {
	k := &Kernel{Name: "s", Params: []Param{{Name: "f", Kind: F32}, {Name: "i", Kind: I32}, {Name: "u", Kind: U32}, {Name: "l", Kind: I64}, {Name: "ul", Kind: U64}}}
	// Untyped constants arrive as float64 and int.
	a := mustBind(t, k, 2.5, 42, 7, 1<<40, 9)
	if a.F32(0) != 2.5 || a.I32(1) != 42 || a.U32(2) != 7 || a.I64(3) != 1<<40 || a.U64(4) != 9 {
		t.Fatalf("got %v %v %v %v %v", a.F32(0), a.I32(1), a.U32(2), a.I64(3), a.U64(4))
	}
	a = mustBind(t, k, float32(-0.5), int8(-3), uint8(200), uint32(5), uint16(0xfffe))
	if a.F32(0) != -0.5 || a.I32(1) != -3 || a.U32(2) != 200 || a.I64(3) != 5 || a.U64(4) != 0xfffe {
		t.Fatalf("got %v %v %v %v %v", a.F32(0), a.I32(1), a.U32(2), a.I64(3), a.U64(4))
	}
	if _, err := Bind(k, 0.0, 0, 0, 0, int16(-2)); !errors.Is(err, ErrBadArgs) {
		t.Fatalf("negative for U64: %v", err)
	}
	if _, err := Bind(k, 0.0, 0, 0, uint64(math.MaxInt64)+1, 0); !errors.Is(err, ErrBadArgs) {
		t.Fatalf("2^63 for I64: %v", err)
	}
	if _, err := Bind(k, float32(0), math.MinInt32, math.MaxUint32, int64(math.MinInt64), uint64(math.MaxUint64)); err != nil {
		t.Fatalf("extremes: %v", err)
	}
}

func TestBindErrors(t *testing.T) {
	y, x := make([]float32, 4), make([]float32, 4)
	cases := []struct {
		name string
		k    *Kernel
		vals []any
		want []string
	}{
		{"count", Saxpy, []any{y, x, float32(1)}, []string{"saxpy", "takes 4 arguments", "got 3"}},
		{"slice kind", Saxpy, []any{y, make([]int32, 4), float32(1), 4}, []string{"saxpy", "param 1 (x)", "PtrF32", "[]int32"}},
		{"scalar for pointer", Saxpy, []any{float32(1), x, float32(1), 4}, []string{"param 0 (y)", "got float32"}},
		{"pointer for scalar", Saxpy, []any{y, x, x, 4}, []string{"param 2 (a)", "F32", "[]float32"}},
		{"int for float", Saxpy, []any{y, x, 1, 4}, []string{"param 2 (a)", "got int"}},
		{"float for int", Saxpy, []any{y, x, float32(1), float32(4)}, []string{"param 3 (n)", "I32", "float32"}},
		{"float64 out of float32 range", Saxpy, []any{y, x, 1e300, 4}, []string{"param 2 (a)", "does not fit"}},
		{"int out of range", Saxpy, []any{y, x, float32(1), 1 << 31}, []string{"param 3 (n)", "does not fit"}},
		{"negative for unsigned", every, []any{nil, nil, nil, nil, nil, float32(0), 0, -1, 0, 0}, []string{"param 7 (su)", "does not fit"}},
		{"string", Histogram, []any{[]uint32{}, []uint32{}, "4", 1}, []string{"param 2 (n)", "string"}},
		{"untyped nil scalar", Histogram, []any{[]uint32{}, []uint32{}, nil, 1}, []string{"param 2 (n)", "<nil>"}},
		{"wrong pointee", ListWalk, []any{y, x, 1}, []string{}}, // PtrAny takes any slice: not an error
		{"pointer to wrong type", Saxpy, []any{new(int32), x, float32(1), 1}, []string{"param 0 (y)", "*int32"}},
		{"bool", Saxpy, []any{y, x, true, 1}, []string{"param 2 (a)", "bool"}},
		{"map for PtrAny", ListWalk, []any{y, map[int]int{}, 1}, []string{"param 1 (heads)", "map[int]int"}},
		{"zero Kind", &Kernel{Name: "z", Params: []Param{{Name: "p"}}}, []any{1}, []string{"param 0 (p)", "Kind(0)"}},
		{"nil kernel", nil, nil, []string{"nil kernel"}},
	}
	for _, c := range cases {
		_, err := Bind(c.k, c.vals...)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: unexpected %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadArgs) {
			t.Errorf("%s: got %v, want ErrBadArgs", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
}

func TestKind(t *testing.T) {
	for k := PtrF32; k <= U64; k++ {
		if strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("%d has no name", k)
		}
		if k.IsPointer() != strings.HasPrefix(k.String(), "Ptr") {
			t.Errorf("%v IsPointer = %v", k, k.IsPointer())
		}
		if k.Size() != 4 && k.Size() != 8 {
			t.Errorf("%v Size = %d", k, k.Size())
		}
	}
	if Kind(0).IsPointer() || Kind(0).Size() != 0 || Kind(99).String() != "Kind(99)" {
		t.Error("invalid kinds")
	}
}

func TestArgsCheck(t *testing.T) {
	h := mustBind(t, Histogram, []uint32{0}, []uint32{1}, 1, 1)
	if err := h.Check(Histogram); err != nil {
		t.Fatal(err)
	}
	// Same arity, other kinds: bound for another kernel.
	err := RunGroup(Saxpy, SaxpyRange(1), 0, h, GroupConfig{})
	if !errors.Is(err, ErrBadArgs) || !strings.Contains(err.Error(), "param 0 (y) is PtrF32, but the Args were bound for PtrU32") {
		t.Fatalf("got %v", err)
	}
	// Args assembled by hand carry no kinds; only the count is checked.
	y := []float32{1}
	hand := &Args{Words: []uint64{uint64(uintptr(unsafe.Pointer(&y[0]))), uint64(uintptr(unsafe.Pointer(&y[0]))), uint64(math.Float32bits(2)), 1}}
	if err := RunGroup(Saxpy, SaxpyRange(1), 0, hand, GroupConfig{}); err != nil || y[0] != 3 {
		t.Fatalf("hand-made Args: %v, y = %v", err, y)
	}
	if err := (*Args)(nil).Check(Saxpy); !errors.Is(err, ErrBadArgs) {
		t.Fatalf("nil Args: %v", err)
	}
	if err := h.Check(nil); !errors.Is(err, ErrBadArgs) {
		t.Fatalf("nil kernel: %v", err)
	}
}
