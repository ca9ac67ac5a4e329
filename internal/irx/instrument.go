package irx

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Stats counts the accesses Instrument rewrote, per kind.
type Stats struct {
	Loads, Stores int
	RMW, CAS      int
	Memcpy        int // memcpy, memcpy.inline and memmove
	Memset        int // memset and memset.inline
	Prefetch      int // prefetches dropped
	Funcs         int // functions with at least one rewrite
}

// Total is the number of rewritten accesses (prefetches not counted).
func (s Stats) Total() int { return s.Loads + s.Stores + s.RMW + s.CAS + s.Memcpy + s.Memset }

// Instrument rewrites every access through a pointer in address space 1, 2 or
// 4 in the module ll (LLVM 15 textual IR) into calls to the device runtime's
// ABI, adds the declarations it used and returns the new module text.
// Unsupported accesses give an *UnsupportedError; IR it cannot read gives a
// *ParseError naming the .ll line.
func Instrument(ll string) (string, Stats, error) {
	r := newRewriter(ll)
	out, err := r.run()
	if err != nil {
		return "", Stats{}, err
	}
	return out, r.stats, nil
}

// rewriter holds the module-wide state of one Instrument call.
type rewriter struct {
	lines   []string
	lay     layout
	diLine  map[string]int  // "!N" -> source line of its DILocation
	names   map[string]bool // local value names already used in the module
	next    int
	have    map[string]bool // functions declared or defined in the input
	decls   []string        // declarations to add, in order of first use
	declSet map[string]bool
	stats   Stats
	fn      string // current function
	touched map[string]bool
}

var (
	localNameRE  = regexp.MustCompile(`%(?:"([^"]*)"|([-a-zA-Z$._0-9]+))`)
	diLocationRE = regexp.MustCompile(`^(![0-9]+)\s*=\s*(?:distinct\s+)?!DILocation\(.*?\bline:\s*([0-9]+)`)
	typeDefRE    = regexp.MustCompile(`^(%(?:"[^"]*"|[-a-zA-Z$._0-9]+))\s*=\s*type\s+(.*)$`)
	funcNameRE   = regexp.MustCompile(`@(?:"[^"]*"|[-a-zA-Z$._0-9]+)\(`)
)

func newRewriter(ll string) *rewriter {
	r := &rewriter{
		lines:   strings.Split(strings.ReplaceAll(ll, "\r\n", "\n"), "\n"),
		lay:     layout{defs: map[string]string{}, cache: map[string]*irType{}},
		diLine:  map[string]int{},
		names:   map[string]bool{},
		have:    map[string]bool{},
		declSet: map[string]bool{},
		touched: map[string]bool{},
	}
	for _, m := range localNameRE.FindAllStringSubmatch(ll, -1) {
		r.names[m[1]+m[2]] = true
	}
	for _, ln := range r.lines {
		switch {
		case strings.HasPrefix(ln, "%"):
			if m := typeDefRE.FindStringSubmatch(stripComment(ln)); m != nil {
				r.lay.defs[m[1]] = strings.TrimSpace(m[2])
			}
		case strings.HasPrefix(ln, "!"):
			if m := diLocationRE.FindStringSubmatch(ln); m != nil {
				r.diLine[m[1]], _ = strconv.Atoi(m[2])
			}
		case strings.HasPrefix(ln, "declare") || strings.HasPrefix(ln, "define"):
			if m := funcNameRE.FindString(ln); m != "" {
				r.have[m[:len(m)-1]] = true
			}
		}
	}
	return r
}

// fresh returns a new local name %svm.N unused anywhere in the module.
func (r *rewriter) fresh() string {
	for {
		r.next++
		n := "svm." + strconv.Itoa(r.next)
		if !r.names[n] {
			r.names[n] = true
			return "%" + n
		}
	}
}

// declare records that the module needs the ABI function with this
// declaration ("RET @name(PARAMS)").
func (r *rewriter) declare(name, decl string) {
	if r.have[name] || r.declSet[name] {
		return
	}
	r.declSet[name] = true
	r.decls = append(r.decls, "declare "+decl)
}

// instr is one instruction being rewritten.
type instr struct {
	text   string // trimmed, comment stripped
	result string // "%x" or ""
	body   string // after "%x =" and the opcode
	dbg    string // ", !dbg !N" or ""
	lineNo int    // .ll line, 1-based
}

func (in *instr) assign() string {
	if in.result == "" {
		return ""
	}
	return in.result + " = "
}

func (r *rewriter) parseErr(in *instr, format string, args ...any) error {
	return &ParseError{Line: in.lineNo, Msg: fmt.Sprintf(format, args...) + ": " + in.text}
}

func (r *rewriter) unsupported(in *instr, reason string) error {
	line := 0
	if in.dbg != "" {
		line = r.diLine[strings.TrimSpace(strings.TrimPrefix(in.dbg, ", !dbg"))]
	}
	return &UnsupportedError{Instr: in.text, Line: line, Func: strings.TrimPrefix(r.fn, "@"), Reason: reason}
}

// dbgOf finds the !dbg attachment among an instruction's trailing parts.
func dbgOf(parts []string) string {
	for _, p := range parts {
		if strings.HasPrefix(p, "!dbg ") {
			return ", " + p
		}
	}
	return ""
}

var memOpcodes = map[string]bool{"load": true, "store": true, "atomicrmw": true, "cmpxchg": true, "call": true}

func (r *rewriter) run() (string, error) {
	var out []string
	inFunc, fnLine := false, 0
	for i := 0; i < len(r.lines); i++ {
		ln := r.lines[i]
		if !inFunc {
			out = append(out, ln)
			if strings.HasPrefix(ln, "define") {
				m := funcNameRE.FindString(ln)
				if m == "" {
					return "", &ParseError{Line: i + 1, Msg: "cannot find the function name: " + ln}
				}
				r.fn, fnLine = m[:len(m)-1], i+1
				// a header spanning lines ends at its "{"
				for !strings.HasSuffix(strings.TrimSpace(stripComment(r.lines[i])), "{") {
					if i+1 >= len(r.lines) {
						return "", &ParseError{Line: i + 1, Msg: "function header without '{'"}
					}
					i++
					out = append(out, r.lines[i])
				}
				inFunc = true
			}
			continue
		}
		t := strings.TrimSpace(stripComment(ln))
		if t == "}" {
			inFunc = false
			out = append(out, ln)
			continue
		}
		in := &instr{text: t, lineNo: i + 1}
		rest := t
		if strings.HasPrefix(rest, "%") {
			id, r2, ok := readIdent(rest)
			r2 = strings.TrimLeft(r2, " \t")
			if !ok || !strings.HasPrefix(r2, "=") {
				out = append(out, ln) // not an instruction we read
				continue
			}
			in.result, rest = id, strings.TrimLeft(r2[1:], " \t")
		}
		op, body := cutWord(rest)
		if op == "tail" || op == "musttail" || op == "notail" {
			op, body = cutWord(body)
		}
		if !memOpcodes[op] {
			out = append(out, ln)
			continue
		}
		// an instruction split over several lines
		first := i
		for depthDelta(in.text) > 0 && i+1 < len(r.lines) {
			i++
			in.text += " " + strings.TrimSpace(stripComment(r.lines[i]))
			body += " " + strings.TrimSpace(stripComment(r.lines[i]))
		}
		in.body = strings.TrimSpace(body)
		var repl []string
		var err error
		switch op {
		case "load":
			repl, err = r.rewriteLoad(in)
		case "store":
			repl, err = r.rewriteStore(in)
		case "atomicrmw":
			repl, err = r.rewriteRMW(in)
		case "cmpxchg":
			repl, err = r.rewriteCmpXchg(in)
		case "call":
			repl, err = r.rewriteCall(in)
		}
		if err != nil {
			return "", err
		}
		if repl == nil {
			out = append(out, r.lines[first:i+1]...)
			continue
		}
		r.touched[r.fn] = true
		for _, l := range repl {
			if l != "" {
				out = append(out, "  "+l)
			}
		}
	}
	if inFunc {
		return "", &ParseError{Line: fnLine, Msg: "function " + r.fn + " has no closing '}'"}
	}
	r.stats.Funcs = len(r.touched)
	out = r.addDecls(out)
	out, err := stripMemoryAttrs(out, r.touched)
	if err != nil {
		return "", err
	}
	return strings.Join(out, "\n"), nil
}

// addDecls inserts the ABI declarations before the first attribute group or
// metadata line (or at the end).
func (r *rewriter) addDecls(out []string) []string {
	if len(r.decls) == 0 {
		return out
	}
	sort.Strings(r.decls)
	at := len(out)
	for i, l := range out {
		if strings.HasPrefix(l, "attributes #") || strings.HasPrefix(l, "!") {
			at = i
			break
		}
	}
	for at > 0 && strings.TrimSpace(out[at-1]) == "" {
		at--
	}
	block := append([]string{"", "; svmrt device runtime ABI (added by irx)"}, r.decls...)
	res := make([]string, 0, len(out)+len(block))
	res = append(res, out[:at]...)
	res = append(res, block...)
	return append(res, out[at:]...)
}
