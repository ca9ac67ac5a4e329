package clc

import (
	"strconv"
	"strings"
)

// irText is the little of a module's textual IR clc reads: function headers,
// call sites, metadata nodes and debug locations. It is a line scanner over
// llvm-dis output, not a general IR parser; llvm-dis prints one definition
// per line, which is what makes that enough.
type irText struct {
	lines []string
	meta  map[int]string // !N -> node text after "= "
}

func parseIRText(ll string) *irText {
	t := &irText{lines: strings.Split(ll, "\n"), meta: map[int]string{}}
	for _, line := range t.lines {
		if !strings.HasPrefix(line, "!") {
			continue
		}
		id, rest, ok := strings.Cut(line[1:], " = ")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(id); err == nil {
			t.meta[n] = rest
		}
	}
	return t
}

// funcHeader is a parsed "define"/"declare" line.
type funcHeader struct {
	define   bool
	callConv string         // "spir_kernel", "" for the C convention
	name     string         // without '@'
	params   []string       // parameter texts
	attached map[string]int // !kind -> metadata id attached to the function
	lineIdx  int
}

// parseFuncHeader parses a line starting with "define " or "declare ".
func parseFuncHeader(line string, idx int) (funcHeader, bool) {
	h := funcHeader{lineIdx: idx, attached: map[string]int{}}
	switch {
	case strings.HasPrefix(line, "define "):
		h.define = true
	case strings.HasPrefix(line, "declare "):
	default:
		return h, false
	}
	at := strings.Index(line, " @")
	if at < 0 {
		return h, false
	}
	if strings.Contains(line[:at], " spir_kernel ") || strings.HasSuffix(line[:at], " spir_kernel void") {
		h.callConv = "spir_kernel"
	}
	rest := line[at+2:]
	var name string
	if strings.HasPrefix(rest, "\"") {
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return h, false
		}
		name, rest = rest[1:end+1], rest[end+2:]
	} else {
		open := strings.IndexByte(rest, '(')
		if open < 0 {
			return h, false
		}
		name, rest = rest[:open], rest[open:]
	}
	h.name = name
	if !strings.HasPrefix(rest, "(") {
		return h, false
	}
	end := matchingClose(rest, 0)
	if end < 0 {
		return h, false
	}
	h.params = SplitTopLevel(rest[1:end])
	// Attachments: "!kind !N" pairs after the parameter list.
	fs := strings.Fields(rest[end+1:])
	for i := 0; i+1 < len(fs); i++ {
		if strings.HasPrefix(fs[i], "!") && strings.HasPrefix(fs[i+1], "!") {
			if n, err := strconv.Atoi(fs[i+1][1:]); err == nil {
				h.attached[fs[i][1:]] = n
				i++
			}
		}
	}
	// declare puts "!dbg !N" before the return type.
	if !h.define {
		fs := strings.Fields(line[:at])
		for i := 0; i+1 < len(fs); i++ {
			if fs[i] == "!dbg" {
				if n, err := strconv.Atoi(strings.TrimPrefix(fs[i+1], "!")); err == nil {
					h.attached["dbg"] = n
				}
			}
		}
	}
	return h, true
}

// matchingClose returns the index of the bracket closing s[open].
func matchingClose(s string, open int) int {
	depth := 0
	inStr := false
	for i := open; i < len(s); i++ {
		c := s[i]
		if inStr {
			if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '(', '[', '{', '<':
			depth++
		case ')', ']', '}', '>':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// SplitTopLevel splits IR text on the commas outside brackets and quotes.
func SplitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '(', '[', '{', '<':
			depth++
		case ')', ']', '}', '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if last := strings.TrimSpace(s[start:]); last != "" {
		out = append(out, last)
	}
	return out
}

// metaStrings returns the string operands of a node like
// !{!"float*", !"int"}; escapes (\22, \5C) are decoded.
func (t *irText) metaStrings(id int) []string {
	var out []string
	for _, e := range t.metaElems(id) {
		if strings.HasPrefix(e, "!\"") && strings.HasSuffix(e, "\"") {
			out = append(out, unescapeIR(e[2:len(e)-1]))
		} else {
			out = append(out, "")
		}
	}
	return out
}

// metaInts returns the integer operands of a node like !{i32 1, i32 0}.
func (t *irText) metaInts(id int) []int {
	var out []int
	for _, e := range t.metaElems(id) {
		f := strings.Fields(e)
		n := 0
		if len(f) == 2 {
			n, _ = strconv.Atoi(f[1])
		}
		out = append(out, n)
	}
	return out
}

func (t *irText) metaElems(id int) []string {
	node, ok := t.meta[id]
	if !ok {
		return nil
	}
	node = strings.TrimPrefix(node, "distinct ")
	if !strings.HasPrefix(node, "!{") || !strings.HasSuffix(node, "}") {
		return nil
	}
	return SplitTopLevel(node[2 : len(node)-1])
}

// metaField returns a named field of a specialized node, e.g. field "line"
// of !DISubprogram(name: "k", line: 3, ...).
func (t *irText) metaField(id int, field string) string {
	node, ok := t.meta[id]
	if !ok {
		return ""
	}
	open := strings.IndexByte(node, '(')
	if open < 0 || !strings.HasSuffix(node, ")") {
		return ""
	}
	for _, kv := range SplitTopLevel(node[open+1 : len(node)-1]) {
		k, v, ok := strings.Cut(kv, ": ")
		if ok && k == field {
			return v
		}
	}
	return ""
}

func metaRef(v string) (int, bool) {
	if !strings.HasPrefix(v, "!") {
		return 0, false
	}
	n, err := strconv.Atoi(v[1:])
	return n, err == nil
}

// location resolves a DILocation (or DISubprogram) id to file and line.
func (t *irText) location(id int) (file string, line int) {
	line, _ = strconv.Atoi(t.metaField(id, "line"))
	scope := id
	if strings.HasPrefix(t.meta[id], "!DILocation(") {
		scope, _ = metaRef(t.metaField(id, "scope"))
	}
	// Walk lexical blocks up to the node that names a file.
	for i := 0; i < 32; i++ {
		if f, ok := metaRef(t.metaField(scope, "file")); ok {
			file = unescapeIR(strings.Trim(t.metaField(f, "filename"), "\""))
			return
		}
		next, ok := metaRef(t.metaField(scope, "scope"))
		if !ok {
			return
		}
		scope = next
	}
	return
}

// unescapeIR decodes LLVM's \XX hex escapes in string literals.
func unescapeIR(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// callSite is one call instruction.
type callSite struct {
	caller, callee string
	dbg            int // DILocation id, 0 if none
}

// calls lists direct calls in function bodies, in program order.
func (t *irText) calls() []callSite {
	var out []callSite
	caller := ""
	for i, line := range t.lines {
		if h, ok := parseFuncHeader(line, i); ok && h.define {
			caller = h.name
			continue
		}
		if line == "}" {
			caller = ""
			continue
		}
		if caller == "" || !strings.Contains(line, "call ") {
			continue
		}
		callee := calleeOf(line)
		if callee == "" {
			continue
		}
		cs := callSite{caller: caller, callee: callee}
		if j := strings.LastIndex(line, "!dbg !"); j >= 0 {
			cs.dbg, _ = strconv.Atoi(strings.TrimRight(strings.Fields(line[j+5:])[0][1:], ","))
		}
		out = append(out, cs)
	}
	return out
}

// calleeOf finds "@name(" after the "call" keyword of an instruction line.
func calleeOf(line string) string {
	k := strings.Index(line, "call ")
	rest := line[k:]
	at := strings.Index(rest, " @")
	if at < 0 {
		return ""
	}
	rest = rest[at+2:]
	if strings.HasPrefix(rest, "\"") {
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return ""
		}
		return rest[1 : end+1]
	}
	j := 0
	for j < len(rest) && isIdentByte(rest[j]) {
		j++
	}
	if j < len(rest) && rest[j] == '(' {
		return rest[:j]
	}
	return ""
}
