package clc

import (
	"fmt"
	"strconv"
	"strings"
)

// AddrSpace is an OpenCL address space as numbered by clang's fake
// address-space map (kernel_arg_addr_space and the IR's addrspace(N)).
type AddrSpace int

const (
	Private  AddrSpace = 0
	Global   AddrSpace = 1
	Constant AddrSpace = 2
	Local    AddrSpace = 3
	Generic  AddrSpace = 4
)

func (a AddrSpace) String() string {
	switch a {
	case Private:
		return "private"
	case Global:
		return "global"
	case Constant:
		return "constant"
	case Local:
		return "local"
	case Generic:
		return "generic"
	}
	return fmt.Sprintf("addrspace(%d)", int(a))
}

// KernelInfo is one kernel's signature.
type KernelInfo struct {
	Name              string
	Params            []ParamInfo
	ReqdWorkGroupSize [3]int // all 0 when the kernel gives none
	WorkGroupSizeHint [3]int // all 0 when none
	VecTypeHint       string // LLVM type of vec_type_hint, e.g. "<4 x float>"; "" when none
	Line              int    // source line of the kernel's definition, 0 if unknown
	File              string // source file of the definition, "" if unknown
	// TypeDefs are the "%struct.X = type {...}" lines the by-value
	// parameters' types need, so a separate module (the trampoline) can name
	// them.
	TypeDefs []string
}

// ParamInfo is one kernel parameter.
type ParamInfo struct {
	Name      string
	AddrSpace AddrSpace // of the pointee for pointers; Private for values
	Type      string    // kernel_arg_type: "float*", "float4", "pair", "struct foo"
	BaseType  string    // kernel_arg_base_type: typedefs resolved
	// Qualifiers of the pointee (kernel_arg_type_qual): Const on a __global
	// pointer means the kernel only reads through it.
	Const, Volatile, Restrict bool
	// Pipe marks a pipe parameter (unsupported; reported by Compile).
	Pipe    bool
	Pointer bool   // a pointer argument (the value is an 8-byte address)
	Elem    string // pointee type for pointers ("float", "node"), "" otherwise
	Size    int    // bytes of the argument value the caller provides
	Align   int    // alignment the caller's copy of those bytes must have
	ByVal   bool   // a struct passed by value: the kernel takes a pointer to a copy
	// ByValType is the LLVM type of a by-value struct, e.g. "%struct.pair".
	ByValType string
	// LLVMType is the kernel function's exact parameter type text:
	// "ptr addrspace(1)", "<4 x float>", "i32", "ptr" (with ByVal).
	LLVMType string
	// ABIAttrs are the parameter attributes a call must repeat to match the
	// callee's ABI: "signext", "zeroext", "byval(%struct.pair) align 4".
	ABIAttrs string
	// AccessQual is kernel_arg_access_qual ("none", "read_only", ...).
	AccessQual string
}

// Writable reports whether the kernel may store through this parameter: any
// __global or generic pointer that is not const. Callers use it to decide
// which buffers a launch dirties.
func (p ParamInfo) Writable() bool {
	return p.Pointer && !p.Const && (p.AddrSpace == Global || p.AddrSpace == Generic)
}

// Kernels extracts every kernel (spir_kernel definition with argument
// metadata) of a module's textual IR. Compiler-generated block kernels of
// device-side enqueue carry no argument metadata and are skipped.
func Kernels(ll string) ([]KernelInfo, error) {
	t := parseIRText(ll)
	layout := NewLayout(ll)
	var out []KernelInfo
	for i, line := range t.lines {
		h, ok := parseFuncHeader(line, i)
		if !ok || !h.define || h.callConv != "spir_kernel" {
			continue
		}
		if _, ok := h.attached["kernel_arg_addr_space"]; !ok {
			continue
		}
		k, err := kernelInfo(t, layout, h)
		if err != nil {
			return nil, fmt.Errorf("clc: kernel %s: %w", h.name, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func kernelInfo(t *irText, layout *Layout, h funcHeader) (KernelInfo, error) {
	k := KernelInfo{Name: h.name}
	n := len(h.params)
	addr := t.metaInts(h.attached["kernel_arg_addr_space"])
	access := t.metaStrings(h.attached["kernel_arg_access_qual"])
	types := t.metaStrings(h.attached["kernel_arg_type"])
	base := t.metaStrings(h.attached["kernel_arg_base_type"])
	quals := t.metaStrings(h.attached["kernel_arg_type_qual"])
	names := t.metaStrings(h.attached["kernel_arg_name"])
	if len(addr) != n || len(types) != n {
		return k, fmt.Errorf("argument metadata has %d/%d entries for %d parameters", len(addr), len(types), n)
	}
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	if id, ok := h.attached["dbg"]; ok {
		k.File, k.Line = t.location(id)
	}
	if id, ok := h.attached["reqd_work_group_size"]; ok {
		copy(k.ReqdWorkGroupSize[:], t.metaInts(id))
	}
	if id, ok := h.attached["work_group_size_hint"]; ok {
		copy(k.WorkGroupSizeHint[:], t.metaInts(id))
	}
	if id, ok := h.attached["vec_type_hint"]; ok {
		// !{<4 x float> undef, i32 1}: record the LLVM element type text.
		if el := t.metaElems(id); len(el) > 0 {
			k.VecTypeHint = strings.TrimSuffix(strings.TrimSpace(el[0]), " undef")
			k.VecTypeHint = strings.TrimSuffix(k.VecTypeHint, " poison")
		}
	}
	seenDef := map[string]bool{}
	for i, ptext := range h.params {
		p := ParamInfo{
			Name:       at(names, i),
			AddrSpace:  AddrSpace(addr[i]),
			Type:       types[i],
			BaseType:   at(base, i),
			AccessQual: at(access, i),
		}
		for _, q := range strings.Fields(at(quals, i)) {
			switch q {
			case "const":
				p.Const = true
			case "volatile":
				p.Volatile = true
			case "restrict":
				p.Restrict = true
			case "pipe":
				p.Pipe = true
			}
		}
		ty, attrs := splitParam(ptext)
		p.LLVMType = ty
		var abi []string
		for j := 0; j < len(attrs); j++ {
			a := attrs[j]
			switch {
			case a == "signext" || a == "zeroext" || a == "inreg":
				abi = append(abi, a)
			case strings.HasPrefix(a, "byval("):
				p.ByVal = true
				p.ByValType = a[len("byval(") : len(a)-1]
				abi = append(abi, a)
			case a == "align" && j+1 < len(attrs):
				if p.ByVal {
					p.Align, _ = strconv.Atoi(attrs[j+1])
					abi = append(abi, "align "+attrs[j+1])
				}
				j++
			}
		}
		p.ABIAttrs = strings.Join(abi, " ")
		p.Pointer = !p.ByVal && strings.HasSuffix(strings.TrimSpace(p.Type), "*")
		if p.Pointer {
			p.Elem = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p.Type), "*"))
		}
		sizeType := ty
		if p.ByVal {
			sizeType = p.ByValType
			for _, d := range layout.TypeDefs(p.ByValType) {
				if !seenDef[d] {
					seenDef[d] = true
					k.TypeDefs = append(k.TypeDefs, d)
				}
			}
		}
		size, align, err := layout.SizeAlign(sizeType)
		if err != nil {
			return k, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		p.Size = size
		if p.Align == 0 || align > p.Align {
			p.Align = align
		}
		k.Params = append(k.Params, p)
	}
	return k, nil
}

// splitParam splits "ptr addrspace(1) nocapture noundef align 4 %0" into the
// type text and the attribute words (the trailing %name dropped; byval(...)
// kept as one word).
func splitParam(s string) (ty string, attrs []string) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "<") || strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{"):
		end := matchingClose(s, 0)
		ty, s = s[:end+1], s[end+1:]
	case strings.HasPrefix(s, "ptr addrspace("):
		end := strings.IndexByte(s, ')')
		ty, s = s[:end+1], s[end+1:]
	default:
		ty, s, _ = strings.Cut(s, " ")
	}
	for _, w := range splitAttrWords(s) {
		if strings.HasPrefix(w, "%") {
			continue
		}
		attrs = append(attrs, w)
	}
	return ty, attrs
}

// splitAttrWords splits on spaces outside parentheses.
func splitAttrWords(s string) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || (s[i] == ' ' && depth == 0) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		}
		if start < 0 {
			start = i
		}
	}
	return out
}
