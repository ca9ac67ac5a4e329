package kerneltest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"reflect"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
)

// Output is one value a run's results are compared on: a slice, or a
// pointer to an array, a scalar or a struct, of elements that hold no
// pointers (pointers differ from run to run: each run has its own memory).
type Output struct {
	Name  string
	Value any
}

// snapshot is an output's contents after a run: a copy of its bytes and
// its element type (how to show and compare an element).
type snapshot struct {
	name string
	elem reflect.Type
	data []byte
}

// len is the number of elements.
func (s snapshot) len() int {
	if sz := int(s.elem.Size()); sz > 0 {
		return len(s.data) / sz
	}
	return 0
}

// memory returns the bytes v's memory holds (not a copy) and its element
// type, or an error for a value that is not a pointer-free slice or pointer.
func memory(v any) ([]byte, reflect.Type, error) {
	if v == nil {
		return nil, nil, fmt.Errorf("nil")
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	var (
		elem reflect.Type
		n    int
	)
	switch t.Kind() {
	case reflect.Slice:
		elem, n = t.Elem(), rv.Len()
	case reflect.Pointer:
		elem, n = t.Elem(), 1
		if elem.Kind() == reflect.Array {
			elem, n = elem.Elem(), elem.Len()
		}
		if rv.IsNil() {
			n = 0
		}
	default:
		return nil, nil, fmt.Errorf("%T is neither a slice nor a pointer", v)
	}
	if kernels.HoldsAddresses(elem) {
		return nil, nil, fmt.Errorf("%T holds pointers, which differ from run to run (set Case.Results to compare the data they point to)", v)
	}
	if n == 0 || elem.Size() == 0 {
		return nil, elem, nil
	}
	return unsafe.Slice((*byte)(rv.UnsafePointer()), n*int(elem.Size())), elem, nil
}

// take copies an output's bytes.
func take(o Output) (snapshot, error) {
	b, elem, err := memory(o.Value)
	if err != nil {
		return snapshot{}, fmt.Errorf("output %s: %w", o.Name, err)
	}
	return snapshot{name: o.Name, elem: elem, data: bytes.Clone(b)}, nil
}

// fingerprint hashes the contents of a run's arguments that can be read
// (scalars, pointer-free slices and pointed-to values), to check that
// Inputs returns the same contents every time. Arguments it cannot read
// (pointers to pointer-holding data, unsafe.Pointer) count by position.
func fingerprint(seed maphash.Seed, args []any) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for i, a := range args {
		fmt.Fprintf(&h, "|%d:%T:", i, a)
		switch v := a.(type) {
		case nil, unsafe.Pointer, uintptr:
			continue
		case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			fmt.Fprintf(&h, "%d", v)
			continue
		case float32:
			fmt.Fprintf(&h, "%#x", math.Float32bits(v))
			continue
		case float64:
			fmt.Fprintf(&h, "%#x", math.Float64bits(v))
			continue
		}
		if b, _, err := memory(a); err == nil {
			fmt.Fprintf(&h, "%d:", len(b))
			h.Write(b)
		} else if rv := reflect.ValueOf(a); rv.Kind() == reflect.Slice {
			fmt.Fprintf(&h, "len %d", rv.Len())
		}
	}
	return h.Sum64()
}

// Diff is the first difference between one output of a run and the same
// output of the baseline.
type Diff struct {
	Output string // the output's name (a parameter's name, or Output.Name)
	// Index is the first element that differs; -1 when the lengths differ.
	Index int
	// Count is how many elements differ, of Len.
	Count, Len int
	// Got and Want are the elements at Index in the run and in the
	// baseline, formatted (floats with their bits), or the lengths.
	Got, Want string
	// Within: every differing element is within the case's Tolerance.
	Within bool
	// MaxULPs is the largest distance in units in the last place among
	// differing float elements (0 for other types).
	MaxULPs uint64
}

// String is "y[17] = 1.0000001 (0x3f800001), want 1 (0x3f800000); 3 of 65536 elements differ".
func (d Diff) String() string {
	if d.Index < 0 {
		return fmt.Sprintf("%s has %s elements, want %s", d.Output, d.Got, d.Want)
	}
	s := fmt.Sprintf("%s[%d] = %s, want %s; %d of %d elements differ", d.Output, d.Index, d.Got, d.Want, d.Count, d.Len)
	if d.MaxULPs > 0 {
		s += fmt.Sprintf(" (at most %d ULP)", d.MaxULPs)
	}
	return s
}

// diff compares got with want (the same output of two runs). It returns
// nil when they are identical.
func diff(got, want snapshot, tol *Tolerance) *Diff {
	if bytes.Equal(got.data, want.data) && got.elem == want.elem {
		return nil
	}
	d := &Diff{Output: want.name, Index: -1, Len: want.len()}
	if got.elem != want.elem || len(got.data) != len(want.data) {
		d.Got, d.Want = fmt.Sprintf("%d %v", got.len(), got.elem), fmt.Sprintf("%d %v", want.len(), want.elem)
		return d
	}
	sz := int(want.elem.Size())
	d.Within = true
	for i := 0; i < d.Len; i++ {
		g, w := got.data[i*sz:(i+1)*sz], want.data[i*sz:(i+1)*sz]
		if bytes.Equal(g, w) {
			continue
		}
		if d.Count == 0 {
			d.Index, d.Got, d.Want = i, format(want.elem, g), format(want.elem, w)
		}
		d.Count++
		u, isFloat := ulps(want.elem, g, w)
		if isFloat {
			d.MaxULPs = max(d.MaxULPs, u)
		}
		if tol == nil || !isFloat || u > tol.ULPs {
			d.Within = false
		}
	}
	return d
}

// format shows one element of type t: numbers in decimal, floats with
// their bits in hex, anything else as hex bytes.
func format(t reflect.Type, b []byte) string {
	switch t.Kind() {
	case reflect.Float32:
		u := binary.LittleEndian.Uint32(b)
		return fmt.Sprintf("%v (%#08x)", math.Float32frombits(u), u)
	case reflect.Float64:
		u := binary.LittleEndian.Uint64(b)
		return fmt.Sprintf("%v (%#016x)", math.Float64frombits(u), u)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		v := reflect.NewAt(t, unsafe.Pointer(&b[0])).Elem()
		if v.CanInt() {
			return fmt.Sprintf("%d", v.Int())
		}
		return fmt.Sprintf("%d (%#x)", v.Uint(), v.Uint())
	}
	return fmt.Sprintf("% x", b)
}

// ulps is the distance between two floats of type t in units in the last
// place (representable values between them, +1), and whether t is a float
// type. Two NaNs are 0 apart; a NaN and a number are infinitely far apart.
func ulps(t reflect.Type, g, w []byte) (uint64, bool) {
	var a, b int64
	switch t.Kind() {
	case reflect.Float32:
		x, y := binary.LittleEndian.Uint32(g), binary.LittleEndian.Uint32(w)
		fx, fy := math.Float32frombits(x), math.Float32frombits(y)
		if fx != fx || fy != fy {
			if fx != fx && fy != fy {
				return 0, true
			}
			return math.MaxUint64, true
		}
		a, b = ordered32(x), ordered32(y)
	case reflect.Float64:
		x, y := binary.LittleEndian.Uint64(g), binary.LittleEndian.Uint64(w)
		if fx, fy := math.Float64frombits(x), math.Float64frombits(y); fx != fx || fy != fy {
			if fx != fx && fy != fy {
				return 0, true
			}
			return math.MaxUint64, true
		}
		a, b = ordered64(x), ordered64(y)
	default:
		return 0, false
	}
	if a > b {
		a, b = b, a
	}
	return uint64(b - a), true
}

// ordered32 maps float32 bits onto integers in the floats' order (-0 and
// +0 one apart, so a sign difference of zero counts as 1 ULP).
func ordered32(u uint32) int64 {
	if u&(1<<31) != 0 {
		return -int64(u&^(1<<31)) - 1
	}
	return int64(u)
}

func ordered64(u uint64) int64 {
	if u&(1<<63) != 0 {
		return -int64(u&^(1<<63)) - 1
	}
	return int64(u)
}
