package clc

import (
	"fmt"
	"strings"
)

// TrampolinePrefix starts every trampoline's name: the trampoline of kernel
// k is @__svm_tramp_k.
const TrampolinePrefix = "__svm_tramp_"

// TrampolineName is the symbol of kernel's trampoline.
func TrampolineName(kernel string) string { return TrampolinePrefix + kernel }

// Trampolines returns a complete IR module (text; assemble with Asm, then
// Link it with the kernels' module) defining, for each kernel,
//
//	void __svm_tramp_<kernel>(void **args)
//
// with the C calling convention, so the runtime can call every kernel
// through one signature. args[i] points at the bytes of argument i:
//   - pointers (global, constant, local): the 8-byte address;
//   - scalars and vectors: their Size bytes (a 3-vector 16 bytes);
//   - by-value structs: the struct's Size bytes, aligned to Align; the
//     trampoline hands that very pointer to the kernel as its byval
//     argument (the call copies it, the caller's bytes are not modified).
//
// Each argument is loaded with the kernel's exact LLVM parameter type and
// the kernel is called with the spir_kernel convention and the parameter's
// ABI attributes (signext, byval), as a call from OpenCL would.
func Trampolines(ks ...KernelInfo) (string, error) {
	var b strings.Builder
	writeHeader(&b, ks)
	for _, k := range ks {
		body, err := trampoline(k)
		if err != nil {
			return "", err
		}
		b.WriteString("\n" + body)
	}
	return b.String(), nil
}

// LoopPrefix starts every group loop's name: the loop of kernel k is
// @__svm_loop_k.
const LoopPrefix = "__svm_loop_"

// LoopName is the symbol of kernel's group loop.
func LoopName(kernel string) string { return LoopPrefix + kernel }

// The functions a group loop calls (the device runtime defines them, all
// inlined): LoopGid0Fn(item) and LoopWidthFn(item) are the global id of
// the group's first column and the group's width; LoopPutFn(item, gid0,
// lid0) writes the ids of dimension 0 to the item before each work-item;
// LoopNextRowFn(item) moves it to the next row and returns whether there
// is one.
const (
	LoopGid0Fn    = "__svm_loop_gid0"
	LoopWidthFn   = "__svm_loop_width"
	LoopPutFn     = "__svm_loop_put"
	LoopNextRowFn = "__svm_loop_next_row"
)

// SelfFn is the function that returns the running work-item as the
// kernel's work-item functions find it (from the stack pointer; the device
// runtime defines it). A group loop tells the optimizer that it is the
// loop's own item pointer: the kernel's reads of its ids then come from
// the loop's registers instead of memory the loop has just written.
const SelfFn = "__svm_self"

// GroupLoops returns an IR module (text) defining, for each kernel,
//
//	void __svm_loop_<kernel>(void **args, void *item)
//
// which loads the arguments once, as the trampoline does, then runs the
// kernel for each work-item of the group, row by row (dimension 0 is the
// inner loop, a plain counted loop the optimizer may vectorize): a whole
// work-group as one loop, for kernels that reach no barrier. Loading the arguments
// once matters: inside the loop the kernel's stores could alias the
// argument bytes, so per-call loads could not be hoisted. The loop also
// assumes SelfFn() == item, which the runtime guarantees (it runs the loop
// on the fiber of the group's first item, whose header points at item).
func GroupLoops(ks ...KernelInfo) (string, error) {
	var b strings.Builder
	writeHeader(&b, ks)
	fmt.Fprintf(&b, "declare i64 @%s(ptr)\ndeclare i64 @%s(ptr)\ndeclare void @%s(ptr, i64, i64)\ndeclare zeroext i1 @%s(ptr)\n",
		LoopGid0Fn, LoopWidthFn, LoopPutFn, LoopNextRowFn)
	fmt.Fprintf(&b, "declare ptr @%s()\ndeclare void @llvm.assume(i1 noundef)\n", SelfFn)
	var ids strings.Builder
	for i, k := range ks {
		// Each kernel's loop over a row's work-items carries the marker
		// the work-item jam looks for, in a loop ID of its own (distinct,
		// naming itself first).
		loopMD := 2 * i
		fmt.Fprintf(&ids, "!%d = distinct !{!%d, !%d}\n!%d = !{!%q}\n", loopMD, loopMD, loopMD+1, loopMD+1, WorkItemLoopMarker)
		call, err := loopEntry(&b, k, LoopName(k.Name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  %%gid0 = call i64 @%s(ptr %%item)\n  %%width = call i64 @%s(ptr %%item)\n  br label %%row\n", LoopGid0Fn, LoopWidthFn)
		// The row block tests the width (never 0) so that it stays a block
		// of its own: were it only a branch, it would fold into its
		// predecessors, x would head both loops, and the optimizer would
		// see one loop of unknown trip count instead of a counted inner one
		// it can vectorize.
		fmt.Fprintf(&b, "row:\n  %%empty = icmp eq i64 %%width, 0\n  br i1 %%empty, label %%rowend, label %%x\nx:\n  %%lx = phi i64 [ 0, %%row ], [ %%lx1, %%x ]\n  %%gx = add i64 %%gid0, %%lx\n")
		// Global ids in dimension 0 are below 2^31 (GroupLoopIDLimit): a
		// kernel's int id (int col = get_global_id(0)) is then the id
		// itself, and consecutive work-items' addresses differ by a
		// constant the optimizer can see.
		fmt.Fprintf(&b, "  %%gxfits = icmp ult i64 %%gx, %d\n  call void @llvm.assume(i1 %%gxfits)\n", GroupLoopIDLimit)
		fmt.Fprintf(&b, "  call void @%s(ptr %%item, i64 %%gx, i64 %%lx)\n", LoopPutFn)
		fmt.Fprintf(&b, "  call spir_kernel void @%s(%s)\n", quoteIdent(k.Name), strings.Join(call, ", "))
		fmt.Fprintf(&b, "  %%lx1 = add i64 %%lx, 1\n  %%morex = icmp ult i64 %%lx1, %%width\n  br i1 %%morex, label %%x, label %%rowend, !llvm.loop !%d\n", loopMD)
		fmt.Fprintf(&b, "rowend:\n  %%more = call zeroext i1 @%s(ptr %%item)\n  br i1 %%more, label %%row, label %%done\ndone:\n  ret void\n}\n", LoopNextRowFn)
	}
	b.WriteString("\n" + ids.String())
	return b.String(), nil
}

// WorkItemLoopMarker names, in a group loop's loop metadata, its inner loop
// over one row of work-items: the loop the cpu's work-item jam
// (internal/devrt/wijam) interleaves.
const WorkItemLoopMarker = "svmrt.workitem.loop"

// GroupLoopIDLimit bounds the global ids in dimension 0 of a launch that
// runs group loops: the loops assume every id is below it, so a launch
// that reaches it must run its work-items one by one (devrt does).
const GroupLoopIDLimit = 1 << 31

// ItemLoopPrefix starts every item loop's name: the item loop of kernel k
// is @__svm_iloop_k.
const ItemLoopPrefix = "__svm_iloop_"

// ItemLoopName is the symbol of kernel's item loop.
func ItemLoopName(kernel string) string { return ItemLoopPrefix + kernel }

// ItemLoopNextFn(item) is the runtime function an item loop calls before
// each work-item: it ends the work-item the loop ran last (if any), makes
// item the next one to run and reports whether there is one. It is a real
// call (the device runtime's scheduler, through the kernel-side runtime).
const ItemLoopNextFn = "__svm_iloop_next"

// ItemLoops returns an IR module (text) defining, for each kernel,
//
//	void __svm_iloop_<kernel>(void **args, void *item)
//
// which loads the arguments once, as the trampoline does, then calls
// ItemLoopNextFn(item) and the kernel for as long as the former returns
// true: a run of consecutive work-items of one group in one call, for
// kernels that reach no barrier, on the simulated GPU. Unlike a group loop
// it keeps no ids in registers and does not know the group's shape: the
// runtime rewrites the item's ids before each work-item (the kernel reads
// them from memory after the opaque call) and decides where the run ends,
// so that a work-item that stalls on a fault can park or give up its run
// mid-loop exactly as it would if it ran alone. The loop assumes SelfFn()
// == item, which the runtime guarantees (the fiber's header names item
// for the whole run).
func ItemLoops(ks ...KernelInfo) (string, error) {
	var b strings.Builder
	writeHeader(&b, ks)
	fmt.Fprintf(&b, "declare zeroext i1 @%s(ptr)\n", ItemLoopNextFn)
	fmt.Fprintf(&b, "declare ptr @%s()\ndeclare void @llvm.assume(i1 noundef)\n", SelfFn)
	for _, k := range ks {
		call, err := loopEntry(&b, k, ItemLoopName(k.Name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  br label %%next\nnext:\n  %%more = call zeroext i1 @%s(ptr %%item)\n  br i1 %%more, label %%item1, label %%done\n", ItemLoopNextFn)
		fmt.Fprintf(&b, "item1:\n  call spir_kernel void @%s(%s)\n  br label %%next\ndone:\n  ret void\n}\n", quoteIdent(k.Name), strings.Join(call, ", "))
	}
	return b.String(), nil
}

// loopEntry writes the kernel's declaration and the start of loop name's
// definition (args, item): the assumption that SelfFn() is item, and the
// arguments loaded once. It returns the kernel call's argument list.
func loopEntry(b *strings.Builder, k KernelInfo, name string) ([]string, error) {
	decl, body, call, err := kernelCall(k)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b, "\ndeclare spir_kernel void @%s(%s)\n\n", quoteIdent(k.Name), strings.Join(decl, ", "))
	fmt.Fprintf(b, "define void @%s(ptr noalias %%args, ptr %%item) {\nentry:\n", quoteIdent(name))
	fmt.Fprintf(b, "  %%self = call ptr @%s()\n  %%isself = icmp eq ptr %%self, %%item\n  call void @llvm.assume(i1 %%isself)\n", SelfFn)
	for _, l := range body {
		b.WriteString(l + "\n")
	}
	return call, nil
}

func trampoline(k KernelInfo) (string, error) {
	decl, body, call, err := kernelCall(k)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "declare spir_kernel void @%s(%s)\n\n", quoteIdent(k.Name), strings.Join(decl, ", "))
	fmt.Fprintf(&b, "define void @%s(ptr %%args) {\nentry:\n", quoteIdent(TrampolineName(k.Name)))
	for _, l := range body {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "  call spir_kernel void @%s(%s)\n  ret void\n}\n", quoteIdent(k.Name), strings.Join(call, ", "))
	return b.String(), nil
}

// kernelCall returns the kernel's parameter declarations, the instructions
// that load its arguments from %args, and the call's argument list.
func kernelCall(k KernelInfo) (decl, body, call []string, err error) {
	if k.Name == "" {
		return nil, nil, nil, fmt.Errorf("clc: trampoline: kernel without a name")
	}
	for i, p := range k.Params {
		if p.LLVMType == "" {
			return nil, nil, nil, fmt.Errorf("clc: trampoline %s: parameter %d has no LLVM type", k.Name, i)
		}
		typeAndAttrs := p.LLVMType
		if p.ABIAttrs != "" {
			typeAndAttrs += " " + p.ABIAttrs
		}
		decl = append(decl, typeAndAttrs)
		body = append(body,
			fmt.Sprintf("  %%slot%d = getelementptr inbounds ptr, ptr %%args, i64 %d", i, i),
			fmt.Sprintf("  %%arg%d = load ptr, ptr %%slot%d, align 8", i, i))
		if p.ByVal {
			call = append(call, fmt.Sprintf("%s %%arg%d", typeAndAttrs, i))
			continue
		}
		// align 1: the runtime's argument bytes need not be naturally
		// aligned; x86 loads do not care and the cost is nil.
		body = append(body, fmt.Sprintf("  %%val%d = load %s, ptr %%arg%d, align 1", i, p.LLVMType, i))
		call = append(call, fmt.Sprintf("%s %%val%d", typeAndAttrs, i))
	}
	return decl, body, call, nil
}

// quoteIdent quotes an IR global name that is not a plain identifier.
func quoteIdent(name string) string {
	for i := 0; i < len(name); i++ {
		if !isIdentByte(name[i]) || (i == 0 && name[i] >= '0' && name[i] <= '9') {
			return `"` + name + `"`
		}
	}
	return name
}

// writeHeader starts a generated module: the target, and the kernels' type
// definitions (by-value structs), each once.
func writeHeader(b *strings.Builder, ks []KernelInfo) {
	fmt.Fprintf(b, "target datalayout = %q\ntarget triple = %q\n\n", TargetDataLayout, TargetTriple)
	seen := map[string]bool{}
	for _, k := range ks {
		for _, d := range k.TypeDefs {
			if !seen[d] {
				seen[d] = true
				b.WriteString(d + "\n")
			}
		}
	}
}
