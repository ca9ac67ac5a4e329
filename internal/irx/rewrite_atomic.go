package irx

import (
	"fmt"
)

// Atomics run inside the runtime: atomicrmw becomes __svm_rmw_OP_TY and
// cmpxchg becomes __svm_cas_TY, which return the old value. Pointer-typed
// operands travel as i64 (ptrtoint / inttoptr).

var intRMWOps = map[string]bool{
	"xchg": true, "add": true, "sub": true, "and": true, "nand": true, "or": true,
	"xor": true, "max": true, "min": true, "umax": true, "umin": true,
}

// abiType names t in the ABI (i32 i64 f32 f64); ptr maps to i64 through
// integer casts, reported by asInt.
func abiType(t *irType) (name, irName string, asInt bool) {
	switch {
	case t.kind == tInt && t.bits == 32:
		return "i32", "i32", false
	case t.kind == tInt && t.bits == 64:
		return "i64", "i64", false
	case t.kind == tFloat && t.bits == 32 && t.text == "float":
		return "f32", "float", false
	case t.kind == tFloat && t.bits == 64:
		return "f64", "double", false
	case t.kind == tPtr:
		return "i64", "i64", true
	}
	return "", "", false
}

// atomicAddr parses the address part of an atomic ("[volatile] ... ptr P").
func (r *rewriter) atomicAddr(in *instr, s string) (operand, bool, error) {
	p, err := parseOperand(s)
	if err != nil {
		return p, false, r.parseErr(in, "address operand: %v", err)
	}
	if p.typ.kind != tPtr || p.tail != "" {
		return p, false, r.parseErr(in, "bad address operand")
	}
	return p, instrumented(p.typ.as), nil
}

// intValue returns v as the ABI integer when t is a pointer type.
func (r *rewriter) intValue(v operand, dbg string, lines *[]string) string {
	if v.typ.kind != tPtr {
		return v.val
	}
	n := r.fresh()
	*lines = append(*lines, fmt.Sprintf("%s = ptrtoint %s %s to i64%s", n, v.typ.text, v.val, dbg))
	return n
}

func (r *rewriter) rewriteRMW(in *instr) ([]string, error) {
	s, _ := cutKeyword(in.body, "volatile")
	op, s := cutWord(s)
	parts := splitTop(s)
	if len(parts) < 2 {
		return nil, r.parseErr(in, "too few operands")
	}
	in.dbg = dbgOf(parts[2:])
	p, ok, err := r.atomicAddr(in, parts[0])
	if err != nil || !ok {
		return nil, err
	}
	v, err := parseOperand(parts[1])
	if err != nil {
		return nil, r.parseErr(in, "value operand: %v", err)
	}
	ty, irTy, asInt := abiType(v.typ)
	switch {
	case ty == "":
		return nil, r.unsupported(in, fmt.Sprintf("atomicrmw on %s (the runtime has i32, i64, float and double atomics)", v.typ.text))
	case op == "fadd" || op == "fsub":
		if ty != "f32" && ty != "f64" {
			return nil, r.unsupported(in, "atomicrmw "+op+" on "+v.typ.text)
		}
	case op == "xchg":
	case intRMWOps[op]:
		if ty != "i32" && ty != "i64" || asInt {
			return nil, r.unsupported(in, "atomicrmw "+op+" on "+v.typ.text)
		}
	default:
		return nil, r.unsupported(in, "atomicrmw "+op+" has no runtime entry point")
	}
	fn := "@__svm_rmw_" + op + "_" + ty
	r.declare(fn, fmt.Sprintf("%s %s(ptr, %s)", irTy, fn, irTy))
	var lines []string
	c := r.toFlat(p, in.dbg, &lines)
	val := r.intValue(v, in.dbg, &lines)
	call := fmt.Sprintf("call %s %s(ptr %s, %s %s)%s", irTy, fn, c, irTy, val, in.dbg)
	if asInt {
		old := r.fresh()
		lines = append(lines, old+" = "+call,
			fmt.Sprintf("%sinttoptr i64 %s to %s%s", in.assign(), old, v.typ.text, in.dbg))
	} else {
		lines = append(lines, in.assign()+call)
	}
	r.stats.RMW++
	return lines, nil
}

func (r *rewriter) rewriteCmpXchg(in *instr) ([]string, error) {
	s := in.body
	for _, kw := range []string{"weak", "volatile"} {
		s, _ = cutKeyword(s, kw)
	}
	parts := splitTop(s)
	if len(parts) < 3 {
		return nil, r.parseErr(in, "too few operands")
	}
	in.dbg = dbgOf(parts[3:])
	p, ok, err := r.atomicAddr(in, parts[0])
	if err != nil || !ok {
		return nil, err
	}
	cmp, err := parseOperand(parts[1])
	if err != nil {
		return nil, r.parseErr(in, "compare operand: %v", err)
	}
	nw, err := parseOperand(parts[2])
	if err != nil {
		return nil, r.parseErr(in, "new-value operand: %v", err)
	}
	ty, irTy, asInt := abiType(cmp.typ)
	if ty != "i32" && ty != "i64" {
		return nil, r.unsupported(in, "cmpxchg on "+cmp.typ.text+" (the runtime has i32 and i64 compare-and-swap)")
	}
	fn := "@__svm_cas_" + ty
	r.declare(fn, fmt.Sprintf("%s %s(ptr, %s, %s)", irTy, fn, irTy, irTy))
	var lines []string
	c := r.toFlat(p, in.dbg, &lines)
	cv := r.intValue(cmp, in.dbg, &lines)
	nv := r.intValue(nw, in.dbg, &lines)
	old, eq, agg := r.fresh(), r.fresh(), r.fresh()
	lines = append(lines,
		fmt.Sprintf("%s = call %s %s(ptr %s, %s %s, %s %s)%s", old, irTy, fn, c, irTy, cv, irTy, nv, in.dbg),
		fmt.Sprintf("%s = icmp eq %s %s, %s%s", eq, irTy, old, cv, in.dbg))
	oldVal := old
	if asInt {
		oldVal = r.fresh()
		lines = append(lines, fmt.Sprintf("%s = inttoptr i64 %s to %s%s", oldVal, old, cmp.typ.text, in.dbg))
	}
	pair := "{ " + cmp.typ.text + ", i1 }"
	lines = append(lines,
		fmt.Sprintf("%s = insertvalue %s poison, %s %s, 0%s", agg, pair, cmp.typ.text, oldVal, in.dbg),
		fmt.Sprintf("%sinsertvalue %s %s, i1 %s, 1%s", in.assign(), pair, agg, eq, in.dbg))
	r.stats.CAS++
	return lines, nil
}
