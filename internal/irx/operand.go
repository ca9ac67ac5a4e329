package irx

import (
	"fmt"
	"strings"
)

// operand is a typed value as it appears in an instruction ("T V").
type operand struct {
	typ  *irType
	val  string
	tail string // text after the value (orderings, sync scope)
}

// parseOperand reads "T V [tail]".
func parseOperand(s string) (operand, error) {
	t, rest, err := parseType(s)
	if err != nil {
		return operand{}, err
	}
	v, tail, err := readValue(rest)
	if err != nil {
		return operand{}, err
	}
	return operand{typ: t, val: v, tail: strings.TrimSpace(tail)}, nil
}

// toFlat makes p usable as an address-space-0 pointer, emitting an
// addrspacecast when p is in another address space.
func (r *rewriter) toFlat(p operand, dbg string, lines *[]string) string {
	if p.typ.as == 0 {
		return p.val
	}
	c := r.fresh()
	*lines = append(*lines, fmt.Sprintf("%s = addrspacecast %s %s to ptr%s", c, p.typ.text, p.val, dbg))
	return c
}

// paramAttrWords are parameter attributes without an argument.
var paramAttrWords = map[string]bool{
	"noundef": true, "nonnull": true, "noalias": true, "nocapture": true, "readonly": true,
	"writeonly": true, "readnone": true, "immarg": true, "returned": true, "signext": true,
	"zeroext": true, "inreg": true, "nofree": true, "nest": true, "swiftself": true,
	"swifterror": true, "swiftasync": true, "allocalign": true, "allocptr": true,
}

// paramAttrFuncs are parameter attributes written "name(...)".
var paramAttrFuncs = map[string]bool{
	"dereferenceable": true, "dereferenceable_or_null": true, "byval": true, "byref": true,
	"sret": true, "inalloca": true, "preallocated": true, "elementtype": true, "align": true,
	"nofpclass": true, "alignstack": true,
}

// parseArg reads one call argument "T [attrs] V". Metadata arguments come
// back with an empty value.
func parseArg(s string) (operand, error) {
	t, rest, err := parseType(s)
	if err != nil {
		return operand{}, err
	}
	if t.kind == tOther && t.text == "metadata" {
		return operand{typ: t}, nil
	}
	for {
		rest = strings.TrimLeft(rest, " \t")
		w, r2 := cutWord(rest)
		switch {
		case w == "":
		case paramAttrWords[w]:
			rest = r2
			continue
		case w == "align" && !strings.HasPrefix(r2, "("):
			_, r2 = cutWord(r2)
			rest = r2
			continue
		case paramAttrFuncs[w] && strings.HasPrefix(r2, "("):
			j, err := matchClose(r2, 0)
			if err != nil {
				return operand{}, err
			}
			rest = r2[j:]
			continue
		}
		break
	}
	v, tail, err := readValue(rest)
	if err != nil {
		return operand{}, err
	}
	if strings.TrimSpace(tail) != "" {
		return operand{}, fmt.Errorf("junk after argument %q", s)
	}
	return operand{typ: t, val: v}, nil
}
