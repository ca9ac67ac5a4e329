package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Linking. clLinkProgram joins the bitcode of its inputs — compiled
// objects and libraries, in the order given — with llvm-link (a symbol two
// units define is a link failure whose log is llvm-link's). With
// -create-library that bitcode is the new program: a library, linked
// again later. Otherwise it becomes an executable (linkExecutable):
// runtime.Build of an empty source with -svmrt-link-bitcode (internal/clc:
// clang links the file into the module and optimizes the whole, so calls
// across units inline), and every function a kernel calls must then be
// defined (checkDefined): an undefined one fails the link, its log naming
// the symbol. The executable then runs like any program built from source
// (the device build instruments and compiles the module; runtime.Build's
// cache, keyed by the bitcode, makes a second link of the same units a
// cache hit).

// unitsRoot is where the linked bitcode files of executables are kept,
// beside the embedded headers.
func unitsRoot() string { return filepath.Join(filepath.Dir(headersRoot()), "icd-units") }

// writeUnit writes bitcode to a file named by its contents (under a
// temporary name, then renamed: processes share the files) and returns the
// file's path.
func writeUnit(bc []byte) (string, error) {
	sum := sha256.Sum256(bc)
	path := filepath.Join(unitsRoot(), hex.EncodeToString(sum[:16])+".bc")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(unitsRoot(), 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(unitsRoot(), "tmp-*.bc")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(bc)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", werr
	}
	return path, nil
}

// linkExecutable builds the executable of linked bitcode bc (OpenCL C
// version std) with the link options opts (math options).
func linkExecutable(ctx gocontext.Context, bc []byte, std, opts string) (*kernels.Program, error) {
	path, err := writeUnit(bc)
	if err != nil {
		return nil, fmt.Errorf("writing the linked units: %w", err)
	}
	prog, err := svmrt.Build(ctx, "", strings.TrimSpace("-cl-std="+std+" "+quoteOption("-svmrt-link-bitcode="+path)+" "+opts))
	if err != nil {
		return nil, err
	}
	if err := checkDefined(ctx, prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// undefinedError: functions a program calls that none of its units define.
type undefinedError struct{ funcs []clc.Undefined }

func (e *undefinedError) Error() string {
	var b strings.Builder
	for i, u := range e.funcs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "error: undefined symbol '%s'", u.Name)
		if u.Line > 0 {
			fmt.Fprintf(&b, " (called at %s:%d)", u.File, u.Line)
		}
	}
	return b.String()
}

// checkDefined fails when the program calls a function it does not
// define. The names left to the device build are allowed: OpenCL builtins
// (mangled, _Z...: the builtins library) and reserved names (__...,
// clang's lowering of builtins such as to_global), which the device build
// reports itself when it lacks them.
func checkDefined(ctx gocontext.Context, prog *kernels.Program) error {
	ll, err := prog.Module().LL(ctx)
	if err != nil {
		return err
	}
	undef := clc.UndefinedFunctions(ll, func(name string) bool {
		return strings.HasPrefix(name, "_Z") || strings.HasPrefix(name, "__")
	})
	if len(undef) > 0 {
		return &undefinedError{undef}
	}
	return nil
}

// linkable reports whether p can be an input of clLinkProgram: a compiled
// object or a library. reg.mu must be held.
func (p *program) linkable() bool {
	return p.unit != nil && (p.binType == C.CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT || p.binType == C.CL_PROGRAM_BINARY_TYPE_LIBRARY)
}

// linkOptions splits clLinkProgram's options: whether to make a library,
// and the math options that go to the build. ok is false for any other
// option (CL_INVALID_LINKER_OPTIONS).
func linkOptions(opts string) (library bool, math []string, ok bool) {
	for _, w := range strings.Fields(opts) {
		switch w {
		case "-create-library":
			library = true
		case "-enable-link-options":
			// Says the math options apply to a library; svmrt applies
			// them at the final link either way.
		case "-cl-denorms-are-zero", "-cl-no-signed-zeros", "-cl-unsafe-math-optimizations",
			"-cl-finite-math-only", "-cl-fast-relaxed-math":
			math = append(math, w)
		case "-cl-no-subgroup-ifp":
			// No sub-groups: nothing to promise.
		default:
			return false, nil, false
		}
	}
	return library, math, true
}

//export svmrt_go_link_program
func svmrt_go_link_program(ch unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, options *C.char, ni C.cl_uint,
	inputs *unsafe.Pointer, fn, userData unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	c := contextOfLocked(ch)
	reg.mu.Unlock()
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	if code := deviceListOf(c, n, list); code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	if ni == 0 || inputs == nil || (fn == nil && userData != nil) {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	opts := ""
	if options != nil {
		opts = C.GoString(options)
	}
	library, mathOpts, ok := linkOptions(opts)
	if !ok {
		setErr(errRet, C.CL_INVALID_LINKER_OPTIONS)
		return nil
	}
	reg.mu.Lock()
	var bcs [][]byte
	std := ""
	for _, h := range unsafe.Slice(inputs, int(ni)) {
		u := programOfLocked(h)
		if u == nil {
			reg.mu.Unlock()
			setErr(errRet, C.CL_INVALID_PROGRAM)
			return nil
		}
		if u.ctx != c {
			reg.mu.Unlock()
			setErr(errRet, C.CL_INVALID_CONTEXT)
			return nil
		}
		if !u.linkable() || u.building {
			// Not a compiled object or a library (an executable, a
			// program never compiled, or one whose compile failed).
			reg.mu.Unlock()
			setErr(errRet, C.CL_INVALID_OPERATION)
			return nil
		}
		bcs = append(bcs, u.unit)
		// The newest OpenCL C version among the units: the builtins
		// library of that version serves them all.
		if u.std > std {
			std = u.std
		}
	}
	p := &program{refs: 1, ctx: c, linked: true, options: opts, status: C.CL_BUILD_IN_PROGRESS}
	if !p.registerLocked() {
		reg.mu.Unlock()
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	reg.mu.Unlock()

	ctx := gocontext.Background()
	bc, err := linkUnits(ctx, bcs)
	var built *kernels.Program
	buildOpts := strings.Join(mathOpts, " ")
	if err == nil && !library {
		built, err = linkExecutable(ctx, bc, std, buildOpts)
	}

	reg.mu.Lock()
	p.built = buildOpts
	code := C.cl_int(C.CL_SUCCESS)
	if err != nil {
		code = C.CL_LINK_PROGRAM_FAILURE
		if errors.Is(err, svmrt.ErrNoToolchain) {
			code = C.CL_LINKER_NOT_AVAILABLE
		}
		p.status = C.CL_BUILD_ERROR
		p.log = linkLog(err)
	} else {
		p.status = C.CL_BUILD_SUCCESS
		p.unit, p.std = bc, std
		if library {
			p.binType = C.CL_PROGRAM_BINARY_TYPE_LIBRARY
		} else {
			p.log = built.Module().Log
			p.prog = built
		}
	}
	reg.mu.Unlock()
	if fn != nil {
		C.svmrt_icd_call_program_notify(fn, p.h, userData)
	}
	setErr(errRet, code)
	return p.h
}

// linkUnits joins units' bitcode with llvm-link (one unit is itself).
func linkUnits(ctx gocontext.Context, bcs [][]byte) ([]byte, error) {
	if len(bcs) == 1 {
		return bcs[0], nil
	}
	tc, err := clc.FindToolchain()
	if err != nil {
		return nil, err
	}
	return tc.Link(ctx, bcs...)
}

// linkLog is the log of a failed link: llvm-link's diagnostics, or the
// build's (buildLog).
func linkLog(err error) string {
	var te *clc.ToolError
	if errors.As(err, &te) && te.Stderr != "" {
		return te.Stderr
	}
	return buildLog(err)
}
