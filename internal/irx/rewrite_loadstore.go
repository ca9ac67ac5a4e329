package irx

import (
	"fmt"
	"strings"
)

// Loads and stores: translate the address with __svm_ld / __svm_st, access
// the returned host pointer, and (stores) tell the runtime the store is done
// so it can replay it if the page moved meanwhile.

// memAccess is the common shape of load and store after their flags.
type memAccess struct {
	flags string   // "atomic volatile " as present
	ptr   operand  // the address operand, with orderings in tail
	rest  []string // align and metadata parts
	size  int64
}

func (r *rewriter) parseAccess(in *instr, valueIdx int) (memAccess, []string, bool, error) {
	s := in.body
	var a memAccess
	for _, kw := range []string{"atomic", "volatile"} {
		var ok bool
		if s, ok = cutKeyword(s, kw); ok {
			a.flags += kw + " "
		}
	}
	parts := splitTop(s)
	if len(parts) < valueIdx+2 {
		return a, nil, false, r.parseErr(in, "too few operands")
	}
	p, err := parseOperand(parts[valueIdx+1])
	if err != nil {
		return a, nil, false, r.parseErr(in, "address operand: %v", err)
	}
	if p.typ.kind != tPtr {
		return a, nil, false, r.parseErr(in, "address operand is not a pointer")
	}
	a.ptr, a.rest = p, parts[valueIdx+2:]
	in.dbg = dbgOf(a.rest)
	return a, parts, instrumented(p.typ.as), nil
}

func (r *rewriter) rewriteLoad(in *instr) ([]string, error) {
	a, parts, ok, err := r.parseAccess(in, 0)
	if err != nil || !ok {
		return nil, err
	}
	t, rest, err := parseType(parts[0])
	if err != nil || strings.TrimSpace(rest) != "" {
		return nil, r.parseErr(in, "loaded type: %v", err)
	}
	if a.size, err = r.lay.storeSize(t); err != nil {
		return nil, r.parseErr(in, "%v", err)
	}
	var lines []string
	c := r.toFlat(a.ptr, in.dbg, &lines)
	h := r.fresh()
	r.declare("@__svm_ld", "ptr @__svm_ld(ptr, i64)")
	lines = append(lines,
		fmt.Sprintf("%s = call ptr @__svm_ld(ptr %s, i64 %d)%s", h, c, a.size, in.dbg),
		fmt.Sprintf("%sload %s%s, %s", in.assign(), a.flags, parts[0], joinParts("ptr "+h+suffix(a.ptr.tail), a.rest)))
	r.stats.Loads++
	return lines, nil
}

func (r *rewriter) rewriteStore(in *instr) ([]string, error) {
	a, parts, ok, err := r.parseAccess(in, 0)
	if err != nil || !ok {
		return nil, err
	}
	t, _, err := parseType(parts[0])
	if err != nil {
		return nil, r.parseErr(in, "stored type: %v", err)
	}
	if a.size, err = r.lay.storeSize(t); err != nil {
		return nil, r.parseErr(in, "%v", err)
	}
	var lines []string
	c := r.toFlat(a.ptr, in.dbg, &lines)
	h := r.fresh()
	r.declare("@__svm_st", "ptr @__svm_st(ptr, i64)")
	r.declare("@__svm_st_done", "void @__svm_st_done(ptr, i64)")
	lines = append(lines,
		fmt.Sprintf("%s = call ptr @__svm_st(ptr %s, i64 %d)%s", h, c, a.size, in.dbg),
		fmt.Sprintf("store %s%s, %s", a.flags, parts[0], joinParts("ptr "+h+suffix(a.ptr.tail), a.rest)),
		fmt.Sprintf("call void @__svm_st_done(ptr %s, i64 %d)%s", h, a.size, in.dbg))
	r.stats.Stores++
	return lines, nil
}

func suffix(tail string) string {
	if tail == "" {
		return ""
	}
	return " " + tail
}

func joinParts(first string, rest []string) string {
	return strings.Join(append([]string{first}, rest...), ", ")
}
