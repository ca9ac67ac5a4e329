package irx

import (
	"fmt"
	"strconv"
	"strings"
)

// Types and their x86-64 sizes (the layout clang uses for
// x86_64-unknown-linux-gnu: i64 and double 8-aligned, i128 8-aligned as in
// LLVM 15, x86_fp80 stored in 10 bytes and 16-aligned, vectors aligned to
// their size rounded up to a power of two).

type typeKind int

const (
	tInt typeKind = iota
	tFloat
	tPtr
	tVector
	tArray
	tStruct
	tNamed
	tOther // void, label, metadata, token, …
)

type irType struct {
	kind   typeKind
	bits   int // tInt, tFloat
	as     int // tPtr
	n      int // tVector, tArray
	elem   *irType
	fields []*irType
	packed bool
	name   string // tNamed
	text   string // as written
}

var floatBits = map[string]int{
	"half": 16, "bfloat": 16, "float": 32, "double": 64, "x86_fp80": 80, "fp128": 128, "ppc_fp128": 128,
}

// parseType reads one type at the start of s and returns it and the rest.
func parseType(s string) (*irType, string, error) {
	s = strings.TrimLeft(s, " \t")
	start := s
	var t *irType
	switch {
	case s == "":
		return nil, s, fmt.Errorf("missing type")
	case s[0] == '%':
		id, r, ok := readIdent(s)
		if !ok {
			return nil, s, fmt.Errorf("bad type name %q", s)
		}
		t, s = &irType{kind: tNamed, name: id}, r
	case s[0] == '[' || s[0] == '{' || strings.HasPrefix(s, "<{"):
		j, err := matchClose(s, 0)
		if err != nil {
			return nil, s, err
		}
		body, rest := s[:j], s[j:]
		if body[0] == '[' {
			t, err = parseSeq(body[1:len(body)-1], tArray)
		} else if body[0] == '{' {
			t, err = parseFields(body[1 : len(body)-1])
		} else {
			if !strings.HasSuffix(body, "}>") {
				return nil, s, fmt.Errorf("bad packed struct %q", body)
			}
			t, err = parseFields(body[2 : len(body)-2])
			if t != nil {
				t.packed = true
			}
		}
		if err != nil {
			return nil, s, err
		}
		s = rest
	case s[0] == '<':
		j, err := matchClose(s, 0)
		if err != nil {
			return nil, s, err
		}
		t, err = parseSeq(s[1:j-1], tVector)
		if err != nil {
			return nil, s, err
		}
		s = s[j:]
	default:
		w, r := cutWord(s)
		switch {
		case w == "ptr":
			t, s = &irType{kind: tPtr}, r
			if rr, ok := cutAddrspace(r); ok >= 0 {
				t.as, s = ok, rr
			}
		case len(w) > 1 && w[0] == 'i' && isDigits(w[1:]):
			b, _ := strconv.Atoi(w[1:])
			t, s = &irType{kind: tInt, bits: b}, r
		case floatBits[w] > 0:
			t, s = &irType{kind: tFloat, bits: floatBits[w]}, r
		case w == "void" || w == "label" || w == "metadata" || w == "token" || w == "x86_mmx" || w == "x86_amx":
			t, s = &irType{kind: tOther}, r
		default:
			return nil, start, fmt.Errorf("unknown type %q", w)
		}
	}
	// a typed pointer (T*, T addrspace(N)*) is not LLVM 15's opaque form
	r := strings.TrimLeft(s, " \t")
	if rr, as := cutAddrspace(r); as >= 0 && strings.HasPrefix(strings.TrimLeft(rr, " \t"), "*") || strings.HasPrefix(r, "*") {
		return nil, start, fmt.Errorf("typed pointers are not supported (need opaque pointers): %q", start)
	}
	t.text = strings.TrimSpace(start[:len(start)-len(s)])
	return t, s, nil
}

// cutAddrspace reads "addrspace(N)"; as is -1 if it is not there.
func cutAddrspace(s string) (rest string, as int) {
	r := strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(r, "addrspace(") {
		return s, -1
	}
	end := strings.IndexByte(r, ')')
	if end < 0 {
		return s, -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(r[len("addrspace("):end]))
	if err != nil {
		return s, -1
	}
	return r[end+1:], n
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseSeq parses "N x T" (arrays) or "[vscale x] N x T" (vectors).
func parseSeq(body string, kind typeKind) (*irType, error) {
	b := strings.TrimSpace(body)
	if strings.HasPrefix(b, "vscale ") {
		return nil, fmt.Errorf("scalable vectors are not supported")
	}
	n, r := cutWord(b)
	if !isDigits(n) {
		return nil, fmt.Errorf("bad element count in %q", body)
	}
	r, ok := cutKeyword(r, "x")
	if !ok {
		return nil, fmt.Errorf("bad sequence type %q", body)
	}
	elem, rest, err := parseType(r)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("junk after element type in %q", body)
	}
	cnt, _ := strconv.Atoi(n)
	return &irType{kind: kind, n: cnt, elem: elem}, nil
}

func parseFields(body string) (*irType, error) {
	t := &irType{kind: tStruct}
	if strings.TrimSpace(body) == "" {
		return t, nil
	}
	for _, f := range splitTop(body) {
		ft, rest, err := parseType(f)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(rest) != "" {
			return nil, fmt.Errorf("junk after field type %q", f)
		}
		t.fields = append(t.fields, ft)
	}
	return t, nil
}

// layout resolves named types and computes sizes.
type layout struct {
	defs  map[string]string // %name -> body text ("type" stripped)
	cache map[string]*irType
}

func (l *layout) resolve(t *irType, depth int) (*irType, error) {
	if t.kind != tNamed {
		return t, nil
	}
	if depth > 64 {
		return nil, fmt.Errorf("type %s is recursive by value", t.name)
	}
	if c, ok := l.cache[t.name]; ok {
		return c, nil
	}
	body, ok := l.defs[t.name]
	if !ok {
		return nil, fmt.Errorf("undefined type %s", t.name)
	}
	if body == "opaque" {
		return nil, fmt.Errorf("type %s is opaque", t.name)
	}
	rt, rest, err := parseType(body)
	if err != nil {
		return nil, fmt.Errorf("type %s: %v", t.name, err)
	}
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("type %s: junk %q", t.name, rest)
	}
	rt, err = l.resolve(rt, depth+1)
	if err != nil {
		return nil, err
	}
	l.cache[t.name] = rt
	return rt, nil
}

// storeSize is the number of bytes a load or store of t touches.
func (l *layout) storeSize(t *irType) (int64, error) {
	sz, _, err := l.sizeAlign(t, 0, true)
	return sz, err
}

// sizeAlign returns t's store size (store=true) or alloc size, and its ABI
// alignment.
func (l *layout) sizeAlign(t *irType, depth int, store bool) (int64, int64, error) {
	t, err := l.resolve(t, depth)
	if err != nil {
		return 0, 0, err
	}
	if depth > 64 {
		return 0, 0, fmt.Errorf("type nesting too deep")
	}
	var size, align int64
	switch t.kind {
	case tInt:
		size = int64(t.bits+7) / 8
		switch {
		case t.bits <= 8:
			align = 1
		case t.bits <= 16:
			align = 2
		case t.bits <= 32:
			align = 4
		default:
			align = 8
		}
	case tFloat:
		size = int64(t.bits / 8)
		align = size
		if t.bits == 80 {
			align = 16
		}
	case tPtr:
		size, align = 8, 8
	case tVector:
		es, _, err := l.sizeAlign(t.elem, depth+1, true)
		if err != nil {
			return 0, 0, err
		}
		if t.elem.kind == tInt || t.elem.kind == tFloat {
			size = (int64(t.n)*int64(bitsOf(t.elem)) + 7) / 8
		} else {
			size = int64(t.n) * es
		}
		align = 1
		for align < size {
			align *= 2
		}
	case tArray:
		es, ea, err := l.sizeAlign(t.elem, depth+1, false)
		if err != nil {
			return 0, 0, err
		}
		size, align = int64(t.n)*es, ea
	case tStruct:
		align = 1
		for _, f := range t.fields {
			fs, fa, err := l.sizeAlign(f, depth+1, false)
			if err != nil {
				return 0, 0, err
			}
			if t.packed {
				fa = 1
			}
			size = (size + fa - 1) / fa * fa
			size += fs
			if fa > align {
				align = fa
			}
		}
		size = (size + align - 1) / align * align
	default:
		return 0, 0, fmt.Errorf("type %s has no size", t.text)
	}
	if !store {
		size = (size + align - 1) / align * align
	}
	return size, align, nil
}

func bitsOf(t *irType) int {
	if t.kind == tInt || t.kind == tFloat {
		return t.bits
	}
	return 64
}

// spaceOf reports the address space of a pointer type, or of the element of a
// vector of pointers; -1 for non-pointers.
func spaceOf(t *irType) int {
	switch t.kind {
	case tPtr:
		return t.as
	case tVector:
		return spaceOf(t.elem)
	}
	return -1
}

// instrumented reports whether address space as goes through the MMU.
func instrumented(as int) bool { return as == 1 || as == 2 || as == 4 }
