package clc

import (
	"fmt"
	"strconv"
	"strings"
)

// Layout computes sizes and alignments of LLVM IR types with the x86-64
// System V rules clang uses for OpenCL C on our target (the datalayout
// "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"):
// iN rounds up to a power-of-two number of bytes, aligned to its size up to
// 16; ptr in every address space is 8 bytes; vectors are aligned to their
// size rounded up to a power of two (so a 3-vector occupies 4 elements);
// structs use C layout, packed <{...}> structs have no padding and align 1.
//
// Sizes always match C's sizeof (clang spells out all padding as members).
// Alignment is the LLVM type's: a struct whose C alignment was raised by
// __attribute__((aligned(N))) has the same LLVM type, so its C alignment is
// known only where clang states it, e.g. a byval parameter's "align N"
// (ParamInfo.Align uses that).
type Layout struct {
	types map[string]string // named struct -> body text ("{ i32, float }", "opaque")
}

// NewLayout parses the "%name = type ..." definitions of a module's text.
func NewLayout(ll string) *Layout {
	l := &Layout{types: map[string]string{}}
	for _, line := range strings.Split(ll, "\n") {
		if !strings.HasPrefix(line, "%") {
			continue
		}
		name, body, ok := strings.Cut(line, " = type ")
		if !ok {
			continue
		}
		l.types[name] = strings.TrimSpace(body)
	}
	return l
}

// SizeAlign returns the allocation size and ABI alignment of type text ty.
func (l *Layout) SizeAlign(ty string) (size, align int, err error) {
	p := &typeParser{s: ty, l: l}
	size, align, err = p.parse(0)
	if err == nil {
		p.skipSpace()
		if p.i != len(p.s) {
			err = fmt.Errorf("clc: trailing text in type %q", ty)
		}
	}
	return
}

// sizeAlignPrefix is SizeAlign of the type that starts text s (a global's
// "TYPE initializer, align N"), ignoring what follows it.
func (l *Layout) sizeAlignPrefix(s string) (size, align int, err error) {
	p := &typeParser{s: s, l: l}
	return p.parse(0)
}

// TypeDefs returns the definition lines ("%struct.X = type {...}") that type
// text ty needs, dependencies first, so a separate IR module (a trampoline)
// can name the same types.
func (l *Layout) TypeDefs(ty string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(text string) {
		for _, name := range namedTypesIn(text) {
			if seen[name] {
				continue
			}
			seen[name] = true
			body, ok := l.types[name]
			if !ok {
				continue
			}
			visit(body)
			out = append(out, name+" = type "+body)
		}
	}
	visit(ty)
	return out
}

// namedTypesIn lists the %names in a type text.
func namedTypesIn(text string) []string {
	var names []string
	for i := 0; i < len(text); i++ {
		if text[i] != '%' {
			continue
		}
		j := i + 1
		if j < len(text) && text[j] == '"' {
			k := strings.IndexByte(text[j+1:], '"')
			if k < 0 {
				break
			}
			j += k + 2
		} else {
			for j < len(text) && isIdentByte(text[j]) {
				j++
			}
		}
		names = append(names, text[i:j])
		i = j - 1
	}
	return names
}

func isIdentByte(c byte) bool {
	return c == '.' || c == '_' || c == '$' || c == '-' ||
		c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

type typeParser struct {
	s string
	i int
	l *Layout
}

func (p *typeParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) errf(format string, args ...any) error {
	return fmt.Errorf("clc: type %q at %d: %s", p.s, p.i, fmt.Sprintf(format, args...))
}

func (p *typeParser) eat(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *typeParser) word() string {
	p.skipSpace()
	j := p.i
	for j < len(p.s) && (isIdentByte(p.s[j])) {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

func (p *typeParser) number() (int, error) {
	w := p.word()
	n, err := strconv.Atoi(w)
	if err != nil {
		return 0, p.errf("expected a number, got %q", w)
	}
	return n, nil
}

func alignTo(n, a int) int { return (n + a - 1) / a * a }

func pow2Ceil(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// parse reads one type; depth guards against recursive named types.
func (p *typeParser) parse(depth int) (size, align int, err error) {
	if depth > 64 {
		return 0, 0, p.errf("type nesting too deep")
	}
	p.skipSpace()
	switch {
	case p.eat("<{"):
		return p.structBody(depth, "}>", true)
	case p.eat("{"):
		return p.structBody(depth, "}", false)
	case p.eat("["):
		n, err := p.number()
		if err != nil {
			return 0, 0, err
		}
		if !p.eat("x") {
			return 0, 0, p.errf("expected x")
		}
		es, ea, err := p.parse(depth + 1)
		if err != nil {
			return 0, 0, err
		}
		if !p.eat("]") {
			return 0, 0, p.errf("expected ]")
		}
		return n * es, ea, nil
	case p.eat("<"):
		n, err := p.number()
		if err != nil {
			return 0, 0, err
		}
		if !p.eat("x") {
			return 0, 0, p.errf("expected x")
		}
		start := p.i
		es, _, err := p.parse(depth + 1)
		if err != nil {
			return 0, 0, err
		}
		bits := n * es * 8
		if elem := strings.TrimSpace(p.s[start:p.i]); elem == "i1" {
			bits = n // vectors of i1 are bit vectors
		}
		if !p.eat(">") {
			return 0, 0, p.errf("expected >")
		}
		bytes := (bits + 7) / 8
		a := pow2Ceil(bytes)
		return alignTo(bytes, a), a, nil
	case p.i < len(p.s) && p.s[p.i] == '%':
		names := namedTypesIn(p.s[p.i:])
		name := names[0]
		p.i += len(name)
		body, ok := p.l.types[name]
		if !ok {
			return 0, 0, p.errf("unknown type %s", name)
		}
		if body == "opaque" {
			return 0, 0, p.errf("opaque type %s has no size", name)
		}
		sub := &typeParser{s: body, l: p.l}
		return sub.parse(depth + 1)
	}
	w := p.word()
	switch w {
	case "half", "bfloat":
		return 2, 2, nil
	case "float":
		return 4, 4, nil
	case "double":
		return 8, 8, nil
	case "x86_fp80", "fp128":
		return 16, 16, nil
	case "ptr":
		if p.eat("addrspace(") {
			if _, err := p.number(); err != nil {
				return 0, 0, err
			}
			if !p.eat(")") {
				return 0, 0, p.errf("expected )")
			}
		}
		return 8, 8, nil
	}
	if strings.HasPrefix(w, "i") {
		bits, err := strconv.Atoi(w[1:])
		if err == nil && bits > 0 {
			b := pow2Ceil((bits + 7) / 8)
			a := b
			if a > 16 {
				a = 16
			}
			return alignTo(b, a), a, nil
		}
	}
	return 0, 0, p.errf("unsupported type %q", w)
}

func (p *typeParser) structBody(depth int, closer string, packed bool) (size, align int, err error) {
	align = 1
	if p.eat(closer) {
		return 0, 1, nil
	}
	for {
		es, ea, err := p.parse(depth + 1)
		if err != nil {
			return 0, 0, err
		}
		if !packed {
			size = alignTo(size, ea)
			if ea > align {
				align = ea
			}
		}
		size += es
		if p.eat(",") {
			continue
		}
		if p.eat(closer) {
			break
		}
		return 0, 0, p.errf("expected , or %s", closer)
	}
	return alignTo(size, align), align, nil
}
