package irx

import (
	"fmt"
	"strings"
)

// Calls to intrinsics: memory transfers and fills touching address space 1,
// 2 or 4 go to the runtime, prefetches of those spaces are dropped, and any
// other intrinsic that gets such a pointer is refused (it would access memory
// behind the MMU's back). Calls to ordinary functions are left alone: their
// bodies are instrumented where they are defined.

// harmlessIntrinsics take pointers without accessing the memory behind them.
var harmlessIntrinsics = []string{
	"llvm.lifetime.", "llvm.dbg.", "llvm.assume", "llvm.experimental.noalias.scope.decl",
	"llvm.invariant.", "llvm.ptrmask.", "llvm.objectsize.", "llvm.launder.invariant.group.",
	"llvm.strip.invariant.group.", "llvm.is.constant.", "llvm.ptr.annotation.", "llvm.var.annotation",
}

// callee finds the directly called function and its argument list in the
// text after "call".
func callee(s string) (name, args, tail string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			i = skipString(s, i) - 1
		case '(', '[', '{', '<':
			j, err := matchClose(s, i)
			if err != nil {
				return "", "", "", false
			}
			i = j - 1
		case '%', '@':
			id, rest, ok := readIdent(s[i:])
			if !ok {
				continue
			}
			if strings.HasPrefix(rest, "(") {
				j, err := matchClose(rest, 0)
				if err != nil {
					return "", "", "", false
				}
				return id, rest[1 : j-1], rest[j:], true
			}
			i += len(id) - 1
		}
	}
	return "", "", "", false
}

func (r *rewriter) rewriteCall(in *instr) ([]string, error) {
	name, argText, tail, ok := callee(in.body)
	if !ok {
		return nil, r.parseErr(in, "cannot find the callee")
	}
	if !strings.HasPrefix(name, "@llvm.") {
		return nil, nil
	}
	intr := name[1:]
	in.dbg = dbgOf(splitTop(tail))
	var args []operand
	touches := false
	if strings.TrimSpace(argText) != "" {
		for _, a := range splitTop(argText) {
			op, err := parseArg(a)
			if err != nil {
				return nil, r.parseErr(in, "argument %q: %v", a, err)
			}
			args = append(args, op)
			if instrumented(spaceOf(op.typ)) {
				touches = true
			}
		}
	}
	if !touches {
		return nil, nil
	}
	for _, h := range harmlessIntrinsics {
		if strings.HasPrefix(intr, h) {
			return nil, nil
		}
	}
	switch {
	case strings.HasPrefix(intr, "llvm.memcpy.element") || strings.HasPrefix(intr, "llvm.memmove.element") ||
		strings.HasPrefix(intr, "llvm.memset.element"):
	case strings.HasPrefix(intr, "llvm.memcpy.") || strings.HasPrefix(intr, "llvm.memmove."):
		return r.rewriteTransfer(in, args, "@__svm_memcpy", "void @__svm_memcpy(ptr, ptr, i64)", &r.stats.Memcpy)
	case strings.HasPrefix(intr, "llvm.memset."):
		return r.rewriteTransfer(in, args, "@__svm_memset", "void @__svm_memset(ptr, i8, i64)", &r.stats.Memset)
	case strings.HasPrefix(intr, "llvm.prefetch"):
		r.stats.Prefetch++
		return []string{}, nil
	}
	return nil, r.unsupported(in, intr+" accesses global/constant/generic memory outside the MMU")
}

// rewriteTransfer handles memcpy/memmove (dst, src, len, volatile) and memset
// (dst, val, len, volatile): pointers go flat, the length becomes i64.
func (r *rewriter) rewriteTransfer(in *instr, args []operand, fn, decl string, count *int) ([]string, error) {
	if len(args) < 3 {
		return nil, r.parseErr(in, "too few arguments")
	}
	var lines []string
	vals := make([]string, 3)
	for i, a := range args[:2] {
		switch {
		case a.typ.kind == tPtr:
			vals[i] = "ptr " + r.toFlat(a, in.dbg, &lines)
		case a.typ.kind == tInt && a.typ.bits == 8:
			vals[i] = "i8 " + a.val
		default:
			return nil, r.parseErr(in, "unexpected argument type %s", a.typ.text)
		}
	}
	n := args[2]
	switch {
	case n.typ.kind != tInt:
		return nil, r.parseErr(in, "length is not an integer")
	case n.typ.bits == 64:
		vals[2] = "i64 " + n.val
	default:
		conv := "zext"
		if n.typ.bits > 64 {
			conv = "trunc"
		}
		v := r.fresh()
		lines = append(lines, fmt.Sprintf("%s = %s %s %s to i64%s", v, conv, n.typ.text, n.val, in.dbg))
		vals[2] = "i64 " + v
	}
	r.declare(fn, decl)
	lines = append(lines, fmt.Sprintf("call void %s(%s)%s", fn, strings.Join(vals, ", "), in.dbg))
	*count++
	return lines, nil
}
