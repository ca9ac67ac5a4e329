package devrt

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/svmrt/svmrt/internal/clc"
)

// Static __local variables: the ones a kernel declares in its body
//
//	__kernel void k(...) { __local float tile[16][16]; ... }
//
// Clang makes each a module global in address space 3 (named k.tile).
// Natively a global is one variable for the whole launch, while OpenCL
// gives every work-group its own — and the groups of a launch run at the
// same time on different host threads, or interleaved on one. So the build
// takes them out of the module: every one gets an offset in a per-group
// block of StaticLocalSym bytes, which the scheduler lays out after the
// group's __local arguments (zeroed, like them), and each function that
// names one computes its address from the group's block at entry:
//
//	%svm.slb = call ptr @__svm_static_local()   ; the running item's group's block
//	%svm.sl3 = addrspacecast ptr %svm.slb to ptr addrspace(3)
//	%svm.sl.0 = getelementptr inbounds i8, ptr addrspace(3) %svm.sl3, i64 <offset>
//
// Constant expressions built on a variable (a constant index into it, its
// cast to a generic pointer) become instructions there too: they depend on
// nothing but the block. The whole module shares one layout (the block
// holds every kernel's variables; a few bytes of slack for kernels that use
// none of them).

// StaticLocalSym is the module's constant holding the per-group block's
// size in bytes (absent when the module declares no static __local
// variable).
const StaticLocalSym = "__svm_static_local_size"

// staticLocalFn is the kernel-side runtime function returning the running
// work-item's group's block (svmk_rt.c.in).
const staticLocalFn = "__svm_static_local"

// staticLocalRE matches the definition of a variable in the __local
// address space (OpenCL C gives them no initializer: clang writes undef).
var staticLocalRE = regexp.MustCompile(`(?m)^@("[^"]+"|[-A-Za-z0-9_.$]+) = [^\n]*?\baddrspace\(3\) global (.+?) (undef|poison|zeroinitializer)(, align (\d+))?[^\n]*$`)

// constExprRE matches the start of a constant expression that can be built
// on a variable's address; staticLocals turns those into instructions.
var constExprRE = regexp.MustCompile(`\b(getelementptr inbounds|getelementptr|addrspacecast|bitcast|ptrtoint|inttoptr|zext|sext|trunc|select|icmp (?:eq|ne|[us](?:gt|ge|lt|le))|add|sub|mul|and|or|xor|shl|lshr|ashr) \(`)

// twoTyped are the constant expressions whose constant form types both
// operands where the instruction types only the first.
var twoTyped = regexp.MustCompile(`^(icmp \w+|add|sub|mul|and|or|xor|shl|lshr|ashr)$`)

// staticLocals rewrites the module ll's static __local variables into
// offsets in the per-group block, returning the new text and the block's
// size (0 and ll unchanged when there are none).
func staticLocals(ll string) (string, int, error) {
	defs := staticLocalRE.FindAllStringSubmatchIndex(ll, -1)
	if defs == nil {
		return ll, 0, nil
	}
	layout := clc.NewLayout(ll)
	var vars []staticVar
	size, maxAlign := 0, 1
	for _, d := range defs {
		name, ty := ll[d[2]:d[3]], ll[d[4]:d[5]]
		sz, al, err := layout.SizeAlign(ty)
		if err != nil {
			return "", 0, fmt.Errorf("devrt: __local variable %s: %w", name, err)
		}
		if d[10] >= 0 {
			var explicit int
			fmt.Sscan(ll[d[10]:d[11]], &explicit)
			al = max(al, explicit)
		}
		size = (size + al - 1) / al * al
		vars = append(vars, staticVar{name, size})
		size += sz
		maxAlign = max(maxAlign, al)
	}
	if maxAlign > 64 {
		return "", 0, &clc.UnsupportedError{Feature: "a __local variable aligned to more than 64 bytes",
			Detail: fmt.Sprintf("%s asks for %d", vars[0].name, maxAlign)}
	}
	// Longest names first, so that @k.a never matches inside @k.ab.
	byLen := append([]staticVar(nil), vars...)
	sort.Slice(byLen, func(i, j int) bool { return len(byLen[i].name) > len(byLen[j].name) })

	var out strings.Builder
	lines := strings.Split(ll, "\n")
	isDef := map[string]bool{}
	for _, v := range vars {
		isDef[v.name] = true
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := staticLocalRE.FindStringSubmatch(line); m != nil && isDef[m[1]] {
			continue // the definition goes
		}
		if !strings.HasPrefix(line, "define ") {
			if usesAny(line, byLen) && !strings.HasPrefix(line, "!") && !strings.HasPrefix(line, "declare ") {
				return "", 0, &clc.UnsupportedError{Feature: "a __local variable's address in a global's initializer",
					Detail: strings.TrimSpace(line)}
			}
			out.WriteString(line)
			out.WriteByte('\n')
			continue
		}
		// A function: its body up to the closing brace.
		end := i + 1
		for end < len(lines) && lines[end] != "}" {
			end++
		}
		body := lines[i+1 : end]
		uses := false
		for _, l := range body {
			if usesAny(l, byLen) {
				uses = true
				break
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
		if !uses {
			for _, l := range body {
				out.WriteString(l)
				out.WriteByte('\n')
			}
			i = end - 1
			continue
		}
		fn := &fnRewrite{ce: map[string]string{}}
		fn.entry = append(fn.entry,
			fmt.Sprintf("  %%svm.slb = call ptr @%s()", staticLocalFn),
			"  %svm.sl3 = addrspacecast ptr %svm.slb to ptr addrspace(3)")
		names := map[string]string{}
		for k, v := range vars {
			val := fmt.Sprintf("%%svm.sl.%d", k)
			names[v.name] = val
			fn.entry = append(fn.entry, fmt.Sprintf("  %s = getelementptr inbounds i8, ptr addrspace(3) %%svm.sl3, i64 %d", val, v.offset))
		}
		rewritten := make([]string, len(body))
		for j, l := range body {
			for _, v := range byLen {
				l = replaceGlobal(l, v.name, names[v.name])
			}
			var err error
			if l, err = fn.materialize(l); err != nil {
				return "", 0, err
			}
			rewritten[j] = l
		}
		// The entry instructions go at the top of the first block: after
		// its label if it has one.
		at := 0
		for at < len(rewritten) && strings.TrimSpace(rewritten[at]) == "" {
			at++
		}
		if at < len(rewritten) && isLabel(rewritten[at]) {
			at++
		}
		for _, l := range rewritten[:at] {
			out.WriteString(l + "\n")
		}
		for _, l := range fn.entry {
			out.WriteString(l + "\n")
		}
		for _, l := range rewritten[at:] {
			out.WriteString(l + "\n")
		}
		i = end - 1
	}
	text := strings.TrimSuffix(out.String(), "\n")
	if !strings.Contains(text, "@"+staticLocalFn+"(") || !strings.Contains(text, "declare ptr @"+staticLocalFn+"()") {
		text += fmt.Sprintf("\ndeclare ptr @%s()\n", staticLocalFn)
	}
	size = (size + 63) &^ 63
	text += fmt.Sprintf("\n@%s = constant i64 %d\n", StaticLocalSym, size)
	return text, size, nil
}

// staticVar is a static __local variable and its offset in the block.
type staticVar struct {
	name   string
	offset int
}

// fnRewrite collects the instructions a function's entry gets.
type fnRewrite struct {
	entry []string
	ce    map[string]string // constant expression text -> its value
}

// materialize replaces, innermost first, each constant expression of line
// that is built on a rewritten variable by a value computed at entry.
func (f *fnRewrite) materialize(line string) (string, error) {
	for {
		locs := constExprRE.FindAllStringIndex(line, -1)
		done := true
		// Innermost first: the last opening whose body holds a variable and
		// no further constant expression.
		for k := len(locs) - 1; k >= 0; k-- {
			start, open := locs[k][0], locs[k][1]-1
			closeAt := matchParen(line, open)
			if closeAt < 0 {
				return "", fmt.Errorf("devrt: unbalanced constant expression in %q", strings.TrimSpace(line))
			}
			inner := line[open+1 : closeAt]
			if !strings.Contains(inner, "%svm.sl") && !strings.Contains(inner, "%svm.ce") || constExprRE.MatchString(inner) {
				continue
			}
			op := line[start:open]
			op = strings.TrimSpace(op)
			if twoTyped.MatchString(op) {
				// The constant form types both operands, the instruction
				// only the first: "icmp eq (T a, T b)" is "icmp eq T a, b".
				// (Casts and select read the same in both forms.)
				var err error
				if inner, err = untypeSecond(inner); err != nil {
					return "", fmt.Errorf("devrt: %v in %q", err, strings.TrimSpace(line))
				}
			}
			expr := op + " " + inner
			val, ok := f.ce[expr]
			if !ok {
				val = fmt.Sprintf("%%svm.ce.%d", len(f.ce))
				f.ce[expr] = val
				f.entry = append(f.entry, "  "+val+" = "+expr)
			}
			line = line[:start] + val + line[closeAt+1:]
			done = false
			break
		}
		if done {
			return line, nil
		}
	}
}

// untypeSecond turns a compare's constant operands "T a, T b" into the
// instruction's "T a, b".
func untypeSecond(ops string) (string, error) {
	parts := clc.SplitTopLevel(ops)
	if len(parts) != 2 {
		return "", fmt.Errorf("a compare without two operands: %q", ops)
	}
	first, second := parts[0], parts[1]
	sp := strings.LastIndexByte(first, ' ')
	if sp < 0 || !strings.HasPrefix(second, first[:sp+1]) {
		return "", fmt.Errorf("a compare of operands of two types: %q", ops)
	}
	return first + ", " + strings.TrimSpace(second[sp+1:]), nil
}

// matchParen returns the index of the parenthesis closing the one at open.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// usesAny reports whether line names one of the variables.
func usesAny(line string, vars []staticVar) bool {
	for _, v := range vars {
		if indexGlobal(line, v.name) >= 0 {
			return true
		}
	}
	return false
}

// indexGlobal returns where @name occurs in line as a whole identifier.
func indexGlobal(line, name string) int {
	tok := "@" + name
	for from := 0; ; {
		i := strings.Index(line[from:], tok)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(tok)
		if end == len(line) || !identByte(line[end]) || name[0] == '"' {
			return i
		}
		from = end
	}
}

// replaceGlobal replaces every whole-identifier @name in line with val.
func replaceGlobal(line, name, val string) string {
	for {
		i := indexGlobal(line, name)
		if i < 0 {
			return line
		}
		line = line[:i] + val + line[i+1+len(name):]
	}
}

func identByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isLabel reports whether an IR line is a basic block label.
func isLabel(line string) bool {
	t := strings.TrimSpace(line)
	if i := strings.Index(t, ";"); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return strings.HasSuffix(t, ":") && !strings.ContainsAny(t, " =")
}

// StaticLocalSize is the per-group block staticLocals lays out for the
// static __local variables of the module ll (0 when it declares none): the
// local memory every work-group of the module's kernels gets besides its
// __local arguments (for CL_KERNEL_LOCAL_MEM_SIZE).
func StaticLocalSize(ll string) (int, error) {
	_, n, err := staticLocals(ll)
	return n, err
}
