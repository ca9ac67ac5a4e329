package clc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// ErrUnsupported: the program uses an OpenCL C feature svmrt does not
// implement. It wraps errdefs.ErrNotSupported.
var ErrUnsupported = fmt.Errorf("clc: unsupported OpenCL C feature: %w", errdefs.ErrNotSupported)

// Feature names in UnsupportedError.Feature.
const (
	FeatureImages        = "images"
	FeaturePipes         = "pipes"
	FeatureDeviceEnqueue = "device-side enqueue"
	FeatureSubgroups     = "subgroups"
	FeaturePrintf        = "printf"
)

// UnsupportedError says which unsupported feature a program uses and where.
type UnsupportedError struct {
	Feature string // FeatureImages, ..., or "builtin NAME"
	Kernel  string // the kernel (or function) using it, "" if unknown
	File    string
	Line    int // 0 if unknown
	Detail  string
	// Build is set when clang itself rejected the feature (it is not
	// declared under svmrt's feature set): the full diagnostics.
	Build *BuildError
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if strings.HasPrefix(e.Feature, "builtin ") {
		fmt.Fprintf(&b, "%s is not implemented", e.Feature)
	} else {
		fmt.Fprintf(&b, "%s is not supported by svmrt", e.Feature)
	}
	if e.Kernel != "" {
		fmt.Fprintf(&b, " (in %s)", e.Kernel)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Unwrap makes the error ErrUnsupported (so errdefs.ErrNotSupported) and,
// when clang rejected the code, also the *BuildError (ErrBuild).
func (e *UnsupportedError) Unwrap() []error {
	if e.Build != nil {
		return []error{ErrUnsupported, e.Build}
	}
	return []error{ErrUnsupported}
}

// Demangle returns the function name of an Itanium-mangled OpenCL builtin:
// "_Z11read_imagef14ocl_image2d_roDv2_i" → "read_imagef". Names that are
// not a plain _Z<len><name> (unmangled C names, nested names) are returned
// unchanged.
func Demangle(sym string) string {
	if !strings.HasPrefix(sym, "_Z") {
		return sym
	}
	i := 2
	for i < len(sym) && sym[i] >= '0' && sym[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(sym[2:i])
	if err != nil || n <= 0 || i+n > len(sym) {
		return sym
	}
	return sym[i : i+n]
}

// unsupportedBuiltin classifies a (demangled) function name: the feature it
// belongs to, or "".
func unsupportedBuiltin(name string) string {
	switch {
	case name == "printf":
		return FeaturePrintf
	case strings.HasPrefix(name, "read_image"), strings.HasPrefix(name, "write_image"),
		strings.HasPrefix(name, "get_image_"):
		return FeatureImages
	case strings.HasPrefix(name, "__read_pipe"), strings.HasPrefix(name, "__write_pipe"),
		strings.HasPrefix(name, "__reserve_"), strings.HasPrefix(name, "__commit_"),
		strings.HasPrefix(name, "__get_pipe_"), strings.HasPrefix(name, "__work_group_reserve_"),
		strings.HasPrefix(name, "__sub_group_reserve_"), strings.HasPrefix(name, "__work_group_commit_"),
		strings.HasPrefix(name, "__sub_group_commit_"),
		name == "read_pipe", name == "write_pipe", strings.HasPrefix(name, "reserve_read_pipe"),
		strings.HasPrefix(name, "reserve_write_pipe"), strings.HasPrefix(name, "get_pipe_"):
		return FeaturePipes
	case strings.HasPrefix(name, "__enqueue_kernel"), strings.HasPrefix(name, "__get_kernel_"),
		name == "enqueue_kernel", name == "enqueue_marker", strings.HasPrefix(name, "get_kernel_"),
		name == "get_default_queue", strings.HasPrefix(name, "ndrange_"),
		name == "create_user_event", name == "retain_event", name == "release_event",
		name == "set_user_event_status", name == "capture_event_profiling_info", name == "is_valid_event":
		return FeatureDeviceEnqueue
	case strings.HasPrefix(name, "sub_group_"), strings.HasPrefix(name, "get_sub_group_"),
		name == "get_num_sub_groups", name == "get_max_sub_group_size",
		name == "get_enqueued_num_sub_groups", strings.HasPrefix(name, "intel_sub_group"):
		return FeatureSubgroups
	}
	return ""
}

// unsupportedType classifies a kernel parameter type name.
func unsupportedType(ty string) string {
	ty = strings.TrimSpace(strings.TrimSuffix(ty, "*"))
	switch {
	case strings.HasPrefix(ty, "image") && strings.HasSuffix(ty, "_t"), ty == "sampler_t":
		return FeatureImages
	case ty == "queue_t", ty == "clk_event_t", ty == "reserve_id_t":
		return FeatureDeviceEnqueue
	}
	return ""
}

// ScanUnsupported returns the first use of an unsupported feature in a
// module: kernel parameters of image, sampler, pipe, queue or event type
// (from the argument metadata), then calls to unsupported builtins in
// program order, with the call's source line. nil when there is none.
func ScanUnsupported(ll string, kernels []KernelInfo) *UnsupportedError {
	for _, k := range kernels {
		for _, p := range k.Params {
			feat := unsupportedType(p.Type)
			if feat == "" {
				feat = unsupportedType(p.BaseType)
			}
			if p.Pipe {
				feat = FeaturePipes
			}
			if feat != "" {
				what := p.Type
				if p.Pipe {
					what = "pipe " + p.Type
				}
				return &UnsupportedError{Feature: feat, Kernel: k.Name, File: k.File, Line: k.Line,
					Detail: fmt.Sprintf("parameter %s has type %s", p.Name, what)}
			}
		}
	}
	t := parseIRText(ll)
	for _, c := range t.calls() {
		name := Demangle(c.callee)
		feat := unsupportedBuiltin(name)
		if feat == "" {
			continue
		}
		ue := &UnsupportedError{Feature: feat, Kernel: Demangle(c.caller), Detail: "call to " + name}
		if c.dbg != 0 {
			ue.File, ue.Line = t.location(c.dbg)
		}
		return ue
	}
	return nil
}

var undeclaredRE = regexp.MustCompile(`(?:undeclared identifier|unknown type name|implicit declaration of function|no matching function for call to) '([A-Za-z_0-9]+)'`)

// unsupportedFromDiags turns a build failure caused by a feature svmrt
// switched off into an *UnsupportedError (still carrying the BuildError):
// clang says "requires __opencl_c_images support", rejects 'pipe', or does
// not know the builtins and types of the disabled features.
func unsupportedFromDiags(be *BuildError) *UnsupportedError {
	for _, d := range be.Diags {
		if !strings.HasSuffix(d.Severity, "error") {
			continue
		}
		feat := ""
		msg := d.Message
		switch {
		case strings.Contains(msg, "__opencl_c_images"), strings.Contains(msg, "__opencl_c_read_write_images"),
			strings.Contains(msg, "__opencl_c_3d_image_writes"):
			feat = FeatureImages
		case strings.Contains(msg, "__opencl_c_pipes"), strings.Contains(msg, "'pipe'"):
			feat = FeaturePipes
		case strings.Contains(msg, "__opencl_c_device_enqueue"):
			feat = FeatureDeviceEnqueue
		case strings.Contains(msg, "__opencl_c_subgroups"):
			feat = FeatureSubgroups
		default:
			if m := undeclaredRE.FindStringSubmatch(msg); m != nil {
				if feat = unsupportedBuiltin(m[1]); feat == "" {
					feat = unsupportedType(m[1])
				}
			}
		}
		if feat != "" {
			return &UnsupportedError{Feature: feat, File: d.File, Line: d.Line, Detail: msg, Build: be}
		}
	}
	return nil
}

// Undefined is a function a module declares but does not define.
type Undefined struct {
	Name      string // the symbol, e.g. "_Z4sqrtf"
	Demangled string // "sqrt"
	Line      int    // source line of its first call, 0 if unknown
	File      string
}

// UndefinedFunctions lists the functions declared but not defined in ll,
// except llvm.* intrinsics and those allowed (by symbol name) accepts; nil
// allowed accepts none. The device runtime calls it after linking the
// builtins library: whatever is left is a builtin svmrt lacks (see
// NotImplemented).
func UndefinedFunctions(ll string, allowed func(name string) bool) []Undefined {
	t := parseIRText(ll)
	defined := map[string]bool{}
	var declared []string
	for i, line := range t.lines {
		h, ok := parseFuncHeader(line, i)
		if !ok {
			continue
		}
		if h.define {
			defined[h.name] = true
		} else {
			declared = append(declared, h.name)
		}
	}
	firstCall := map[string]callSite{}
	for _, c := range t.calls() {
		if _, ok := firstCall[c.callee]; !ok {
			firstCall[c.callee] = c
		}
	}
	var out []Undefined
	for _, name := range declared {
		if defined[name] || strings.HasPrefix(name, "llvm.") || (allowed != nil && allowed(name)) {
			continue
		}
		u := Undefined{Name: name, Demangled: Demangle(name)}
		if c, ok := firstCall[name]; ok && c.dbg != 0 {
			u.File, u.Line = t.location(c.dbg)
		}
		out = append(out, u)
	}
	return out
}

// NotImplemented is the error for a builtin the library lacks: an
// *UnsupportedError "builtin sqrt is not implemented" at its first call.
func NotImplemented(u Undefined) *UnsupportedError {
	ue := &UnsupportedError{Feature: "builtin " + u.Demangled, File: u.File, Line: u.Line}
	if feat := unsupportedBuiltin(u.Demangled); feat != "" {
		ue.Detail = "it belongs to " + feat
	}
	return ue
}
