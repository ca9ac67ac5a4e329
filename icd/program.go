package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Programs are OpenCL C source built by runtime.Build (clang-15 through
// internal/clc, cached on disk). clBuildProgram builds at once, in the
// calling thread, and calls the notification callback before it returns
// (which the spec allows): a build is a child process and usually a cache
// hit, and a build in progress is then never observable. A program's
// functions must all be defined once built: a call of a function no unit
// defines fails the build (undefinedError). clCompileProgram and
// clLinkProgram (compile.go, link.go) compile units to LLVM bitcode and
// link them. Binaries are binary.go's.
//
// A program holds its context; its kernels hold it: it is deleted when the
// application has released it and its kernels are gone.

type program struct {
	h       unsafe.Pointer
	refs    int
	kernels int // kernel objects made from it
	ctx     *context
	source  string
	// binary: made by clCreateProgramWithBinary, with binOptions. It has
	// no source: a source binary's build uses its source, a bitcode
	// binary's links its unit (binary.go).
	binary     bool
	binOptions string
	// linked: made by clLinkProgram (link.go); nothing to build.
	linked bool
	// binType: CL_PROGRAM_BINARY_TYPE of a compiled object or library; 0
	// for the others (executable when built, else none).
	binType C.cl_program_binary_type
	// unit: the LLVM bitcode of a compiled object or library, or of an
	// executable linked from them (nil for a program built from source),
	// and its OpenCL C version (clc.StdCL30...).
	unit []byte
	std  string
	// built: the options the executable was built or linked with (its
	// binary's).
	built string

	// Set by a build (under reg.mu):
	building bool
	status   C.cl_build_status
	options  string
	log      string
	prog     *kernels.Program // nil until a build succeeds
}

func (*program) kind() Kind { return KindProgram }

// staticLocal is the per-group local memory of the built program's static
// __local variables (declared in kernel bodies): the simulated GPU gives
// every work-group one block holding all of the program's (devrt), so
// this is what each kernel's groups get besides their __local arguments.
// It is measured on the program's IR before the device build optimises it,
// so a variable no kernel uses still counts. 0 when unknown.
func (p *program) staticLocal() uint64 {
	reg.mu.Lock()
	built := p.prog
	reg.mu.Unlock()
	if built == nil {
		return 0
	}
	ll, err := built.Module().LL(gocontext.Background()) // made once per module
	if err != nil {
		return 0
	}
	n, err := devrt.StaticLocalSize(ll)
	if err != nil {
		return 0
	}
	return uint64(n)
}

// globalVariableBytes is the storage of the built program's __global
// variables (program scope and function-scope static ones), what
// CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE reports: 0 before a build
// succeeds. Measured on the program's IR, which the build has already
// disassembled (checkDefined), so the query costs a scan of its text.
func (p *program) globalVariableBytes() (uint64, error) {
	reg.mu.Lock()
	built := p.prog
	reg.mu.Unlock()
	if built == nil {
		return 0, nil
	}
	ll, err := built.Module().LL(gocontext.Background())
	if err != nil {
		return 0, err
	}
	n, err := clc.GlobalVariableBytes(ll)
	return uint64(n), err
}

// maybeDeleteLocked deletes p when nothing holds it; it returns p's context
// if that deleted the context too. reg.mu must be held.
func (p *program) maybeDeleteLocked() *context {
	if p.refs > 0 || p.kernels > 0 {
		return nil
	}
	if _, ok := reg.objs[p.h]; !ok {
		return nil
	}
	delete(reg.objs, p.h)
	return detachLocked(p.ctx)
}

func programOfLocked(h unsafe.Pointer) *program {
	p, _ := lookupLocked(KindProgram, h).(*program)
	return p
}

//export svmrt_go_create_program_binary
func svmrt_go_create_program_binary(ch unsafe.Pointer, n C.cl_uint, devs *unsafe.Pointer, lengths *C.size_t, bins **C.uchar,
	status *C.cl_int, errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	c := contextOfLocked(ch)
	reg.mu.Unlock()
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	if code := deviceListOf(c, n, devs); code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	ls, bs := unsafe.Slice(lengths, int(n)), unsafe.Slice(bins, int(n))
	var sts []C.cl_int
	if status != nil {
		sts = unsafe.Slice(status, int(n))
	}
	// One device: every entry names it, and each must hold a binary.
	var bin programBinary
	code := C.cl_int(C.CL_SUCCESS)
	for i := range ls {
		st := C.cl_int(C.CL_SUCCESS)
		if bs[i] == nil || ls[i] == 0 {
			st, code = C.CL_INVALID_VALUE, C.CL_INVALID_VALUE
		} else if b, err := parseBinary(C.GoBytes(unsafe.Pointer(bs[i]), C.int(ls[i]))); err != nil {
			st = C.CL_INVALID_BINARY
			if code == C.CL_SUCCESS {
				code = C.CL_INVALID_BINARY
			}
		} else {
			bin = b
		}
		if sts != nil {
			sts[i] = st
		}
	}
	if code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	p := &program{refs: 1, ctx: c, source: bin.source, binary: true, binOptions: bin.options, status: C.CL_BUILD_NONE,
		unit: bin.bc, std: bin.std}
	switch bin.kind {
	case bitcodeObject:
		p.binType = C.CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT
	case bitcodeLibrary:
		p.binType = C.CL_PROGRAM_BINARY_TYPE_LIBRARY
	}
	if !p.registerLocked() {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return p.h
}

//export svmrt_go_create_program
func svmrt_go_create_program(ch unsafe.Pointer, count C.cl_uint, strs **C.char, lengths *C.size_t, errRet *C.cl_int) unsafe.Pointer {
	if count == 0 || strs == nil {
		if !valid(KindContext, ch) {
			setErr(errRet, C.CL_INVALID_CONTEXT)
			return nil
		}
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	var src strings.Builder
	ss := unsafe.Slice(strs, int(count))
	var ls []C.size_t
	if lengths != nil {
		ls = unsafe.Slice(lengths, int(count))
	}
	for i, s := range ss {
		if s == nil {
			setErr(errRet, C.CL_INVALID_VALUE)
			return nil
		}
		// A NULL lengths array, or a 0 length, means the string is
		// NUL-terminated.
		if ls == nil || ls[i] == 0 {
			src.WriteString(C.GoString(s))
		} else {
			src.WriteString(C.GoStringN(s, C.int(ls[i])))
		}
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	c := contextOfLocked(ch)
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	p := &program{refs: 1, ctx: c, source: src.String(), status: C.CL_BUILD_NONE}
	if !p.registerLocked() {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return p.h
}

// registerLocked gives a new program its handle and makes its context live
// as long as it does (the context's deps); false when no handle could be
// allocated.
func (p *program) registerLocked() bool {
	p.h = newHandleLocked(p)
	if p.h == nil {
		return false
	}
	p.ctx.deps++
	return true
}

// deviceListOf checks a device list that may be NULL (all of ctx's
// devices): every device must be one of ctx's.
func deviceListOf(ctx *context, n C.cl_uint, list *unsafe.Pointer) C.cl_int {
	if (n == 0) != (list == nil) {
		return C.CL_INVALID_VALUE
	}
	if n == 0 {
		return C.CL_SUCCESS
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, h := range unsafe.Slice(list, int(n)) {
		d, _ := lookupLocked(KindDevice, h).(*device)
		if d == nil {
			return C.CL_INVALID_DEVICE
		}
		found := false
		for _, cd := range ctx.devices {
			found = found || cd == d
		}
		if !found {
			return C.CL_INVALID_DEVICE
		}
	}
	return C.CL_SUCCESS
}

// buildCode is the clBuildProgram code of a build error.
func buildCode(err error) C.cl_int {
	switch {
	case errors.Is(err, svmrt.ErrInvalidBuildOptions):
		return C.CL_INVALID_BUILD_OPTIONS
	case errors.Is(err, svmrt.ErrNoToolchain):
		return C.CL_COMPILER_NOT_AVAILABLE
	}
	return C.CL_BUILD_PROGRAM_FAILURE
}

// buildLog is the build log of a failed build: clang's diagnostics
// (file:line:col: error: ...) when clang ran, else the error's message (an
// unsupported feature names itself and its line).
func buildLog(err error) string {
	var be *kernels.BuildError
	if errors.As(err, &be) && be.Log != "" {
		return be.Log
	}
	return err.Error() + "\n"
}

//export svmrt_go_build_program
func svmrt_go_build_program(ph unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, options *C.char, fn, userData unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	p := programOfLocked(ph)
	reg.mu.Unlock()
	if p == nil {
		return C.CL_INVALID_PROGRAM
	}
	if code := deviceListOf(p.ctx, n, list); code != C.CL_SUCCESS {
		return code
	}
	if fn == nil && userData != nil {
		return C.CL_INVALID_VALUE
	}
	opts := ""
	if options != nil {
		opts = C.GoString(options)
	}
	if p.binary {
		opts = p.binOptions // see above
	}
	reg.mu.Lock()
	if p.building || p.kernels > 0 || p.linked {
		// A build in progress (from another thread), kernels attached
		// to the current executable, or a program clLinkProgram made
		// (not from source).
		reg.mu.Unlock()
		return C.CL_INVALID_OPERATION
	}
	p.building = true
	p.status = C.CL_BUILD_IN_PROGRESS
	reg.mu.Unlock()

	var prog *kernels.Program
	var err error
	if p.binary && p.unit != nil {
		// A bitcode binary: its unit linked into an executable.
		prog, err = linkExecutable(gocontext.Background(), p.unit, p.std, opts)
	} else if prog, err = svmrt.Build(gocontext.Background(), p.source, opts); err == nil {
		err = checkDefined(gocontext.Background(), prog)
	}

	reg.mu.Lock()
	p.building = false
	p.options = opts
	p.built = opts
	p.binType = 0
	if !p.binary {
		p.unit, p.std = nil, ""
	}
	code := C.cl_int(C.CL_SUCCESS)
	if err != nil {
		code = buildCode(err)
		p.status = C.CL_BUILD_ERROR
		p.log = buildLog(err)
		p.prog = nil
	} else {
		p.status = C.CL_BUILD_SUCCESS
		p.log = prog.Module().Log
		p.prog = prog
	}
	reg.mu.Unlock()
	if fn != nil {
		C.svmrt_icd_call_program_notify(fn, p.h, userData)
	}
	return code
}

// hasBinaryLocked: p has a binary (binaryOf) — it is built, or a compiled
// object or library. reg.mu must be held.
func (p *program) hasBinaryLocked() bool {
	return p.prog != nil || (p.unit != nil && p.binType != 0)
}

// kernelNames lists a built program's kernels.
func (p *program) kernelNames() string {
	var names []string
	for _, k := range p.prog.Kernels {
		names = append(names, k.Name)
	}
	return strings.Join(names, ";")
}

//export svmrt_go_program_info
func svmrt_go_program_info(h unsafe.Pointer, name C.cl_program_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	p := programOfLocked(h)
	if p == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_PROGRAM
	}
	var v []byte
	switch name {
	case C.CL_PROGRAM_REFERENCE_COUNT:
		v = u32(uint32(p.refs))
	case C.CL_PROGRAM_CONTEXT:
		v = ptrs(p.ctx.h)
	case C.CL_PROGRAM_NUM_DEVICES:
		v = u32(uint32(len(p.ctx.devices)))
	case C.CL_PROGRAM_DEVICES:
		for _, d := range p.ctx.devices {
			v = append(v, ptrs(d.h)...)
		}
	case C.CL_PROGRAM_SOURCE:
		if p.binary || p.linked {
			v = str("") // the spec's answer for a program made from a binary
		} else {
			v = str(p.source)
		}
	case C.CL_PROGRAM_IL:
		v = nil // not made from IL
	case C.CL_PROGRAM_BINARY_SIZES:
		// One size per device: 0 until the program is built, compiled
		// or linked.
		n := 0
		if p.hasBinaryLocked() {
			n = len(p.binaryOf())
		}
		for range p.ctx.devices {
			v = append(v, sizeT(uint64(n))...)
		}
	case C.CL_PROGRAM_BINARIES:
		// One pointer per device, to memory of the caller's, CL_PROGRAM_BINARY_SIZES
		// bytes long; a NULL entry is skipped.
		want := 8 * len(p.ctx.devices)
		if out != nil {
			if uint64(size) < uint64(want) {
				reg.mu.Unlock()
				return C.CL_INVALID_VALUE
			}
			if p.hasBinaryLocked() {
				b := p.binaryOf()
				for _, dst := range unsafe.Slice((*unsafe.Pointer)(out), len(p.ctx.devices)) {
					if dst != nil {
						copy(unsafe.Slice((*byte)(dst), len(b)), b)
					}
				}
			}
		}
		if ret != nil {
			*ret = C.size_t(want)
		}
		reg.mu.Unlock()
		return C.CL_SUCCESS
	case C.CL_PROGRAM_NUM_KERNELS:
		if p.prog == nil {
			reg.mu.Unlock()
			return C.CL_INVALID_PROGRAM_EXECUTABLE
		}
		v = sizeT(uint64(len(p.prog.Kernels)))
	case C.CL_PROGRAM_KERNEL_NAMES:
		if p.prog == nil {
			reg.mu.Unlock()
			return C.CL_INVALID_PROGRAM_EXECUTABLE
		}
		v = str(p.kernelNames())
	case C.CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT, C.CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT:
		v = boolean(false) // OpenCL C has no constructors
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

//export svmrt_go_program_build_info
func svmrt_go_program_build_info(h, dh unsafe.Pointer, name C.cl_program_build_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	p := programOfLocked(h)
	if p == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_PROGRAM
	}
	d, _ := lookupLocked(KindDevice, dh).(*device)
	found := false
	for _, cd := range p.ctx.devices {
		found = found || (d != nil && cd == d)
	}
	if !found {
		reg.mu.Unlock()
		return C.CL_INVALID_DEVICE
	}
	var v []byte
	switch name {
	case C.CL_PROGRAM_BUILD_STATUS:
		v = u32(uint32(p.status))
	case C.CL_PROGRAM_BUILD_OPTIONS:
		v = str(p.options)
	case C.CL_PROGRAM_BUILD_LOG:
		v = str(p.log)
	case C.CL_PROGRAM_BINARY_TYPE:
		switch {
		case p.binType != 0:
			v = u32(uint32(p.binType))
		case p.prog != nil || p.binary:
			v = u32(C.CL_PROGRAM_BINARY_TYPE_EXECUTABLE)
		default:
			v = u32(C.CL_PROGRAM_BINARY_TYPE_NONE)
		}
	case C.CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE:
		reg.mu.Unlock()
		n, err := p.globalVariableBytes()
		if err != nil {
			// The IR of a program that built cannot be read back (the
			// toolchain broke under us): not the caller's error, so no
			// CL_INVALID_*; say what happened on stderr.
			fmt.Fprintf(os.Stderr, "svmrt ICD: CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE: %v\n", err)
			return C.CL_OUT_OF_RESOURCES
		}
		return writeInfo(sizeT(n), size, out, ret)
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}
