package kernels

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Range is the host memory a pointer argument names: a slice's elements
// (Start = &s[0], Len = len(s)*size of an element), or the object a *T points
// to (Len = size of T). Len is 0 when the extent is unknown (unsafe.Pointer,
// uintptr) or the slice is empty. Written copies Param.Written.
//
// A Range is what the launch names up front; a kernel may still reach memory
// outside it by following pointers stored in memory (that is the point of
// SVM), which backends handle on demand (simgpu faults it in).
type Range struct {
	Start, Len uintptr
	Written    bool
}

// End is Start+Len.
func (r Range) End() uintptr { return r.Start + r.Len }

// Args are a kernel launch's bound arguments.
type Args struct {
	// Words has one entry per parameter: the address for pointers, the bits
	// for scalars (float32 bits, sign-extended ints).
	Words []uint64
	// Ranges has one entry per parameter; the zero Range for scalars.
	Ranges []Range
	// Values has, for each Value parameter (a vector or struct passed by
	// value), its bytes; nil entries for the other parameters. Nil when the
	// kernel has no Value parameter.
	Values [][]byte
	// Keep holds the original values so the objects the addresses point to
	// stay alive for the launch; backends call runtime.KeepAlive(a.Keep)
	// (or keep a reference to the Args) until the launch completes.
	Keep []any

	// kinds are the parameter kinds Bind checked the values against; nil for
	// Args assembled by hand. Check compares them with the launched kernel.
	kinds []Kind
}

// Check reports whether a can be used to launch k: it must have one word per
// parameter and, if it was made by Bind, have been bound for parameters of
// the same kinds (binding for one kernel and launching another with the same
// arity is an easy mistake). Errors wrap ErrBadArgs. RunGroup calls it;
// backends whose fast paths bypass RunGroup call it themselves.
func (a *Args) Check(k *Kernel) error {
	if k == nil {
		return fmt.Errorf("%w: nil kernel", ErrBadArgs)
	}
	if a == nil || len(a.Words) != len(k.Params) {
		n := 0
		if a != nil {
			n = len(a.Words)
		}
		return fmt.Errorf("%w: kernel %s takes %d arguments %s, Args has %d (use Bind)",
			ErrBadArgs, k.Name, len(k.Params), paramList(k.Params), n)
	}
	if a.kinds != nil {
		for i, p := range k.Params {
			if a.kinds[i] != p.Kind {
				return fmt.Errorf("%w: kernel %s: param %d (%s) is %v, but the Args were bound for %v (bound for another kernel?)",
					ErrBadArgs, k.Name, i, p.Name, p.Kind, a.kinds[i])
			}
		}
	}
	return nil
}

// Ptr returns pointer argument i.
func (a *Args) Ptr(i int) uintptr { return uintptr(a.Words[i]) }

// F32 returns float argument i.
func (a *Args) F32(i int) float32 { return math.Float32frombits(uint32(a.Words[i])) }

// I32 returns int argument i.
func (a *Args) I32(i int) int32 { return int32(a.Words[i]) }

// U32 returns uint argument i.
func (a *Args) U32(i int) uint32 { return uint32(a.Words[i]) }

// I64 returns long argument i.
func (a *Args) I64(i int) int64 { return int64(a.Words[i]) }

// U64 returns ulong argument i.
func (a *Args) U64(i int) uint64 { return a.Words[i] }

// Bind checks vals against k's parameters and binds them.
//
// Pointer parameters accept:
//   - PtrF32/PtrI32/PtrU32/PtrU8: a slice of, a pointer to, or a pointer to an
//     array of float32/int32/uint32/byte (named types with those underlying
//     kinds too);
//   - PtrAny: any slice ([]uint64, []*T, ...) or any pointer *T;
//   - every pointer kind: unsafe.Pointer, uintptr (extent unknown: Len 0),
//     and an untyped nil (a NULL pointer).
//
// An empty or nil slice, or a nil pointer, binds as address 0 with Len 0.
//
// Scalar parameters accept float32 for F32 (and float64, converted, because an
// untyped constant such as 2.0 becomes a float64 when passed as an any), and
// any Go integer type for I32, U32, I64 and U64 as long as the value fits
// (so an untyped constant or an int length works; 1<<31 for an I32 does not).
//
// Errors wrap ErrBadArgs and name the kernel, the parameter (index and name),
// the expected kind and the Go type given.
func Bind(k *Kernel, vals ...any) (*Args, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil kernel", ErrBadArgs)
	}
	if len(vals) != len(k.Params) {
		return nil, fmt.Errorf("%w: kernel %s takes %d arguments %s, got %d",
			ErrBadArgs, k.Name, len(k.Params), paramList(k.Params), len(vals))
	}
	n := len(vals)
	a := &Args{Words: make([]uint64, n), Ranges: make([]Range, n), Keep: make([]any, n), kinds: make([]Kind, n)}
	for i, v := range vals {
		p := k.Params[i]
		a.kinds[i] = p.Kind
		a.Keep[i] = v
		var err error
		switch {
		case p.Kind.IsPointer():
			var r Range
			r, err = bindPointer(p.Kind, v)
			r.Written = p.Written
			a.Ranges[i] = r
			a.Words[i] = uint64(r.Start)
		case p.Kind == Value:
			var b []byte
			b, err = bindValue(p, v)
			if a.Values == nil {
				a.Values = make([][]byte, n)
			}
			a.Values[i] = b
		case p.Kind == LocalMem:
			a.Words[i], err = bindScalar(U32, v)
		default:
			a.Words[i], err = bindScalar(p.Kind, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: kernel %s: param %d (%s): %v", ErrBadArgs, k.Name, i, p.Name, err)
		}
	}
	return a, nil
}

// paramList formats params as "(r PtrF32, m I32)".
func paramList(ps []Param) string {
	s := "("
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p.Name + " " + p.Kind.String()
	}
	return s + ")"
}

// elemKind is the reflect kind a typed pointer kind points to.
var elemKind = [...]reflect.Kind{
	PtrF32: reflect.Float32, PtrI32: reflect.Int32, PtrU32: reflect.Uint32, PtrU8: reflect.Uint8,
}

// expectedGo describes the Go values a kind accepts, for error messages.
func expectedGo(k Kind) string {
	switch k {
	case PtrF32, PtrI32, PtrU32, PtrU8:
		e := elemKind[k].String()
		if k == PtrU8 {
			e = "byte"
		}
		return fmt.Sprintf("%v ([]%s, *%s, unsafe.Pointer or uintptr)", k, e, e)
	case PtrAny:
		return "PtrAny (a slice, a pointer, unsafe.Pointer or uintptr)"
	case F32:
		return "F32 (float32)"
	case F64:
		return "F64 (float64)"
	case LocalMem:
		return "LocalMem (the local buffer's size in bytes, an integer)"
	case I32, U32, I64, U64, I8, U8, I16, U16:
		return fmt.Sprintf("%v (an integer that fits)", k)
	}
	return k.String()
}

func bindPointer(k Kind, v any) (Range, error) {
	switch p := v.(type) {
	case nil:
		return Range{}, nil
	case unsafe.Pointer:
		return Range{Start: uintptr(p)}, nil
	case uintptr:
		return Range{Start: p}, nil
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	switch t.Kind() {
	case reflect.Slice:
		if !pointeeOK(k, t.Elem()) {
			break
		}
		if rv.Len() == 0 {
			return Range{}, nil
		}
		return Range{Start: uintptr(rv.UnsafePointer()), Len: uintptr(rv.Len()) * t.Elem().Size()}, nil
	case reflect.Pointer:
		e := t.Elem()
		if !pointeeOK(k, e) && (e.Kind() != reflect.Array || !pointeeOK(k, e.Elem())) {
			break
		}
		if rv.IsNil() {
			return Range{}, nil
		}
		return Range{Start: uintptr(rv.UnsafePointer()), Len: e.Size()}, nil
	}
	return Range{}, fmt.Errorf("expected %s, got %T", expectedGo(k), v)
}

// pointeeOK reports whether a pointer kind may point at values of type e.
func pointeeOK(k Kind, e reflect.Type) bool {
	return k == PtrAny || e.Kind() == elemKind[k]
}

func bindScalar(k Kind, v any) (uint64, error) {
	bad := fmt.Errorf("expected %s, got %T", expectedGo(k), v)
	if v == nil {
		return 0, bad
	}
	rv := reflect.ValueOf(v)
	if k == F64 {
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64:
			return math.Float64bits(rv.Float()), nil
		}
		return 0, bad
	}
	if k == F32 {
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64:
			f := rv.Float()
			if f32 := float32(f); math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
				return 0, fmt.Errorf("expected %s, got %T value %v, which does not fit", expectedGo(k), v, v)
			}
			return uint64(math.Float32bits(float32(f))), nil
		}
		return 0, bad
	}
	// Integers: read the value exactly (signed or unsigned), then range-check
	// it against the parameter's kind.
	var (
		neg  bool   // value < 0
		sval int64  // value, if it fits in an int64
		uval uint64 // value, if it is >= 0
	)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		sval = rv.Int()
		neg = sval < 0
		uval = uint64(sval)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		uval = rv.Uint()
		sval = int64(uval)
	default:
		return 0, bad
	}
	fits := false
	switch k {
	case I32:
		fits = (neg && sval >= math.MinInt32) || (!neg && uval <= math.MaxInt32)
	case U32:
		fits = !neg && uval <= math.MaxUint32
	case I64:
		fits = neg || uval <= math.MaxInt64
	case U64:
		fits = !neg
	case I8:
		fits = (neg && sval >= math.MinInt8) || (!neg && uval <= math.MaxInt8)
	case U8:
		fits = !neg && uval <= math.MaxUint8
	case I16:
		fits = (neg && sval >= math.MinInt16) || (!neg && uval <= math.MaxInt16)
	case U16:
		fits = !neg && uval <= math.MaxUint16
	default:
		return 0, bad
	}
	if !fits {
		return 0, fmt.Errorf("expected %s, got %T value %v, which does not fit", expectedGo(k), v, v)
	}
	if k == I32 || k == I8 || k == I16 {
		// Keep the word canonical: the value sign-extended, as I64 would be.
		return uint64(sval), nil
	}
	return uval, nil
}

// bindValue returns the bytes of a by-value argument: a []byte of exactly
// p.Size bytes, or the memory of any Go value of that size (an array or a
// struct laid out like the OpenCL type).
func bindValue(p Param, v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		if len(b) != p.Size {
			return nil, fmt.Errorf("expected %d bytes for %s, got a []byte of %d", p.Size, p.Type, len(b))
		}
		return bytes.Clone(b), nil
	}
	if v == nil {
		return nil, fmt.Errorf("expected a %d-byte value for %s, got nil", p.Size, p.Type)
	}
	rv := reflect.ValueOf(v)
	if rv.Type().Size() != uintptr(p.Size) {
		return nil, fmt.Errorf("expected a %d-byte value for %s, got %T of %d bytes", p.Size, p.Type, v, rv.Type().Size())
	}
	// Copy the value's memory: put it in an addressable variable first.
	cp := reflect.New(rv.Type())
	cp.Elem().Set(rv)
	return bytes.Clone(unsafe.Slice((*byte)(cp.UnsafePointer()), p.Size)), nil
}

// HoldsAddresses reports whether values of t may contain addresses:
// pointers, or uintptrs and unsafe.Pointers, which may be addresses (and
// slices, strings, maps, ... which hold pointers). Memory of such a type
// cannot be copied elsewhere and still mean the same.
func HoldsAddresses(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && HoldsAddresses(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if HoldsAddresses(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
