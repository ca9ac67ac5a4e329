package irx

import (
	"fmt"
	"strings"
)

// Lexical helpers for one instruction's text. LLVM IR nests with (), [], {}
// and <>, and quotes names and strings with "..."; nothing else needs care at
// the level this rewriter reads.

func isIdentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '$' || c == '.' || c == '_'
}

// skipString returns the index just past the closing quote of the string
// starting at s[i] == '"'.
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == '"' {
			return j + 1
		}
	}
	return len(s)
}

// stripComment removes a trailing "; ..." comment outside quotes.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			i = skipString(s, i) - 1
		case ';':
			return strings.TrimRight(s[:i], " \t")
		}
	}
	return s
}

// depthDelta reports the nesting change over s (opening minus closing
// brackets outside quotes); a complete instruction has 0.
func depthDelta(s string) int {
	d := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			i = skipString(s, i) - 1
		case '(', '[', '{', '<':
			d++
		case ')', ']', '}', '>':
			d--
		case ';':
			return d
		}
	}
	return d
}

// matchClose returns the index just past the bracket closing s[i].
func matchClose(s string, i int) (int, error) {
	d := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"':
			j = skipString(s, j) - 1
		case '(', '[', '{', '<':
			d++
		case ')', ']', '}', '>':
			d--
			if d == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %q", s[i])
}

// splitTop splits s at commas outside brackets and quotes, trimming each part.
func splitTop(s string) []string {
	var parts []string
	d, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			i = skipString(s, i) - 1
		case '(', '[', '{', '<':
			d++
		case ')', ']', '}', '>':
			d--
		case ',':
			if d == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// cutWord splits off a leading bare word (letters, digits, _ . - $).
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// cutKeyword removes kw from the front of s if it is there as a whole word.
func cutKeyword(s, kw string) (string, bool) {
	s = strings.TrimLeft(s, " \t")
	w, rest := cutWord(s)
	if w == kw {
		return strings.TrimLeft(rest, " \t"), true
	}
	return s, false
}

// readIdent reads a %local or @global name (plain or quoted) at the start of s.
func readIdent(s string) (ident, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t")
	if len(s) < 2 || (s[0] != '%' && s[0] != '@') {
		return "", s, false
	}
	if s[1] == '"' {
		j := skipString(s, 1)
		return s[:j], s[j:], true
	}
	j := 1
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	if j == 1 {
		return "", s, false
	}
	return s[:j], s[j:], true
}

// constExprOps are the words that open a constant expression "op [flags] (...)".
var constExprOps = map[string]bool{
	"getelementptr": true, "bitcast": true, "addrspacecast": true, "inttoptr": true,
	"ptrtoint": true, "select": true, "trunc": true, "zext": true, "sext": true,
	"icmp": true, "fcmp": true, "add": true, "sub": true, "mul": true, "shl": true,
	"lshr": true, "ashr": true, "and": true, "or": true, "xor": true,
	"extractelement": true, "insertelement": true, "shufflevector": true,
	"blockaddress": true, "dso_local_equivalent": true, "no_cfi": true,
}

// readValue reads one operand value (no type) at the start of s: a name, a
// literal, an aggregate or vector constant, or a constant expression.
func readValue(s string) (val, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", "", fmt.Errorf("missing operand")
	}
	switch s[0] {
	case '%', '@':
		id, r, ok := readIdent(s)
		if !ok {
			return "", s, fmt.Errorf("bad name %q", s)
		}
		return id, r, nil
	case '<', '[', '{':
		j, err := matchClose(s, 0)
		if err != nil {
			return "", s, err
		}
		return s[:j], s[j:], nil
	case 'c':
		if len(s) > 1 && s[1] == '"' {
			j := skipString(s, 1)
			return s[:j], s[j:], nil
		}
	}
	w, r := cutWord(s)
	if w == "" {
		return "", s, fmt.Errorf("bad operand %q", s)
	}
	if !constExprOps[w] {
		return w, r, nil
	}
	// flags (inbounds, nuw, eq, …) until the parenthesised operand list
	for {
		r = strings.TrimLeft(r, " \t")
		if strings.HasPrefix(r, "(") {
			j, err := matchClose(r, 0)
			if err != nil {
				return "", s, err
			}
			n := len(s) - len(r) + j
			return s[:n], s[n:], nil
		}
		var f string
		f, r = cutWord(r)
		if f == "" {
			return "", s, fmt.Errorf("bad constant expression %q", s)
		}
	}
}
