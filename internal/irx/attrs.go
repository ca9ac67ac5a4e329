package irx

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Memory-effect attributes go stale once a function calls into the runtime:
// the runtime reads and writes its own state (page tables, counters, locks),
// so a readnone/readonly/argmemonly/nosync function that now reaches it — in
// its own body or through a callee defined in the module — must lose them, at
// its definition and at the call sites that repeat them.

var memAttrWords = map[string]bool{
	"readnone": true, "readonly": true, "writeonly": true, "argmemonly": true,
	"inaccessiblememonly": true, "inaccessiblemem_or_argmemonly": true,
	"nosync": true, "speculatable": true,
}

var (
	attrGroupRE = regexp.MustCompile(`^attributes #([0-9]+) = \{(.*)\}\s*$`)
	groupRefRE  = regexp.MustCompile(`#([0-9]+)`)
)

// attrTokens splits attribute text at spaces outside quotes and brackets.
func attrTokens(s string) []string {
	var toks []string
	d, start := 0, -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || (s[i] == ' ' || s[i] == '\t') && d == 0 {
			if start >= 0 {
				toks = append(toks, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
		switch s[i] {
		case '"':
			i = skipString(s, i) - 1
		case '(', '[', '{', '<':
			d++
		case ')', ']', '}', '>':
			d--
		}
	}
	return toks
}

// dropMemAttrs removes memory-effect attributes from space-separated text.
func dropMemAttrs(s string) string {
	var keep []string
	for _, t := range attrTokens(s) {
		if memAttrWords[t] || strings.HasPrefix(t, "memory(") {
			continue
		}
		keep = append(keep, t)
	}
	return strings.Join(keep, " ")
}

type attrFixer struct {
	groups map[int]string
	clean  map[int]int // group -> group without memory attributes
	next   int
	added  []string
}

func (f *attrFixer) fixGroup(n int) int {
	if m, ok := f.clean[n]; ok {
		return m
	}
	body, ok := f.groups[n]
	m := n
	if ok {
		if c := dropMemAttrs(body); c != strings.Join(attrTokens(body), " ") {
			m = f.next
			f.next++
			f.added = append(f.added, fmt.Sprintf("attributes #%d = { %s }", m, c))
		}
	}
	f.clean[n] = m
	return m
}

// fixTail rewrites the function-attribute part of a define or call line (the
// text after its parameter list): group references and inline attributes.
func (f *attrFixer) fixTail(tail string) string {
	var parts []string
	for _, t := range attrTokens(tail) {
		if memAttrWords[t] || strings.HasPrefix(t, "memory(") {
			continue
		}
		if m := groupRefRE.FindStringSubmatch(t); m != nil && strings.HasPrefix(t, "#") {
			n, _ := strconv.Atoi(m[1])
			t = "#" + strconv.Itoa(f.fixGroup(n)) + t[len(m[0]):]
		}
		parts = append(parts, t)
	}
	return " " + strings.Join(parts, " ")
}

// afterParens returns the index just past the argument list that follows the
// first occurrence of name+"(" in line, or -1.
func afterParens(line, name string) int {
	i := strings.Index(line, name+"(")
	if i < 0 {
		return -1
	}
	j, err := matchClose(line, i+len(name))
	if err != nil {
		return -1
	}
	return j
}

func stripMemoryAttrs(out []string, touched map[string]bool) ([]string, error) {
	if len(touched) == 0 {
		return out, nil
	}
	f := &attrFixer{groups: map[int]string{}, clean: map[int]int{}}
	calls := map[string]map[string]bool{} // function -> functions it names as callees
	var fn string
	for _, l := range out {
		if m := attrGroupRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			f.groups[n] = m[2]
			if n >= f.next {
				f.next = n + 1
			}
			continue
		}
		if strings.HasPrefix(l, "define") {
			fn = strings.TrimSuffix(funcNameRE.FindString(l), "(")
			calls[fn] = map[string]bool{}
			continue
		}
		if strings.HasPrefix(l, "}") {
			fn = ""
			continue
		}
		if fn != "" {
			for _, c := range funcNameRE.FindAllString(stripComment(l), -1) {
				calls[fn][c[:len(c)-1]] = true
			}
		}
	}
	tainted := map[string]bool{}
	for t := range touched {
		tainted[t] = true
	}
	for changed := true; changed; {
		changed = false
		for g, cs := range calls {
			if tainted[g] {
				continue
			}
			for c := range cs {
				if tainted[c] {
					tainted[g], changed = true, true
					break
				}
			}
		}
	}
	res := make([]string, 0, len(out)+4)
	fn = ""
	for _, l := range out {
		switch {
		case strings.HasPrefix(l, "define"):
			fn = strings.TrimSuffix(funcNameRE.FindString(l), "(")
			if tainted[fn] {
				if j := afterParens(l, fn); j > 0 {
					l = l[:j] + f.fixTail(l[j:])
				}
			}
		case strings.HasPrefix(l, "}"):
			fn = ""
		case fn != "" && (strings.Contains(l, "call ") || strings.Contains(l, "invoke ")):
			for _, c := range funcNameRE.FindAllString(stripComment(l), -1) {
				name := c[:len(c)-1]
				if !tainted[name] {
					continue
				}
				if j := afterParens(l, name); j > 0 {
					l = l[:j] + f.fixTail(l[j:])
				}
			}
		}
		res = append(res, l)
	}
	if len(f.added) > 0 {
		res = append(res, f.added...)
	}
	return res, nil
}
