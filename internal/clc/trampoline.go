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

// NextItemFn is the function a group loop calls after each work-item: it
// advances the item's ids to the next work-item of its group and returns
// whether there is one (the device runtime defines it).
const NextItemFn = "__svm_next_item"

// GroupLoops returns an IR module (text) defining, for each kernel,
//
//	void __svm_loop_<kernel>(void **args, void *item)
//
// which loads the arguments once, as the trampoline does, then calls the
// kernel and NextItemFn(item) until it returns false: a whole work-group
// as one loop, for kernels that reach no barrier. Loading the arguments
// once matters: inside the loop the kernel's stores could alias the
// argument bytes, so per-call loads could not be hoisted.
func GroupLoops(ks ...KernelInfo) (string, error) {
	var b strings.Builder
	writeHeader(&b, ks)
	fmt.Fprintf(&b, "declare zeroext i1 @%s(ptr)\n", NextItemFn)
	for _, k := range ks {
		decl, body, call, err := kernelCall(k)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\ndeclare spir_kernel void @%s(%s)\n\n", quoteIdent(k.Name), strings.Join(decl, ", "))
		fmt.Fprintf(&b, "define void @%s(ptr noalias %%args, ptr %%item) {\nentry:\n", quoteIdent(LoopName(k.Name)))
		for _, l := range body {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(&b, "  br label %%loop\nloop:\n  call spir_kernel void @%s(%s)\n", quoteIdent(k.Name), strings.Join(call, ", "))
		fmt.Fprintf(&b, "  %%more = call zeroext i1 @%s(ptr %%item)\n  br i1 %%more, label %%loop, label %%done\ndone:\n  ret void\n}\n", NextItemFn)
	}
	return b.String(), nil
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
