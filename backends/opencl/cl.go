package opencl

/*
#include <stdlib.h>
#include "clshim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/svmrt/svmrt/svm"
)

// This file is the typed layer over clshim: every OpenCL call the backend
// makes goes through one of these functions, which turn status codes into
// *CLError values naming the call and the code.

// CLError is a failed OpenCL call: the function and its status code.
// A call whose entry point the loaded library lacks wraps
// svm.ErrNotSupported (Code is then 0 and Missing true).
type CLError struct {
	Call    string // "clBuildProgram"
	Code    int    // the OpenCL status (negative)
	Missing bool   // the library has no such entry point
}

// Error reads "opencl: clSetKernelArg: CL_INVALID_ARG_SIZE (-51)".
func (e *CLError) Error() string {
	if e.Missing {
		return fmt.Sprintf("opencl: %s: the OpenCL library has no such entry point (OpenCL 2.0 or later needed): %v", e.Call, svm.ErrNotSupported)
	}
	return fmt.Sprintf("opencl: %s: %s (%d)", e.Call, ErrorName(e.Code), e.Code)
}

// Unwrap makes errors.Is(err, svm.ErrNotSupported) true for a missing entry
// point, and errors.Is(err, svm.ErrOutOfDeviceMemory) true for the
// allocation failures.
func (e *CLError) Unwrap() error {
	switch {
	case e.Missing:
		return svm.ErrNotSupported
	case e.Code == -4 || e.Code == -5 || e.Code == -6:
		return svm.ErrOutOfDeviceMemory
	}
	return nil
}

// Is matches another *CLError with the same code (and call, if the target
// names one), so errors.Is(err, &CLError{Code: -52}) works.
func (e *CLError) Is(target error) bool {
	t, ok := target.(*CLError)
	return ok && t.Code == e.Code && t.Missing == e.Missing && (t.Call == "" || t.Call == e.Call)
}

// errorNames are the status codes of OpenCL 3.0 (API specification,
// "Error codes"), by value.
var errorNames = map[int]string{
	0: "CL_SUCCESS", -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
	-4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
	-7: "CL_PROFILING_INFO_NOT_AVAILABLE", -8: "CL_MEM_COPY_OVERLAP", -9: "CL_IMAGE_FORMAT_MISMATCH",
	-10: "CL_IMAGE_FORMAT_NOT_SUPPORTED", -11: "CL_BUILD_PROGRAM_FAILURE", -12: "CL_MAP_FAILURE",
	-13: "CL_MISALIGNED_SUB_BUFFER_OFFSET", -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
	-15: "CL_COMPILE_PROGRAM_FAILURE", -16: "CL_LINKER_NOT_AVAILABLE", -17: "CL_LINK_PROGRAM_FAILURE",
	-18: "CL_DEVICE_PARTITION_FAILED", -19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
	-30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM", -33: "CL_INVALID_DEVICE",
	-34: "CL_INVALID_CONTEXT", -35: "CL_INVALID_QUEUE_PROPERTIES", -36: "CL_INVALID_COMMAND_QUEUE",
	-37: "CL_INVALID_HOST_PTR", -38: "CL_INVALID_MEM_OBJECT", -39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
	-40: "CL_INVALID_IMAGE_SIZE", -41: "CL_INVALID_SAMPLER", -42: "CL_INVALID_BINARY", -43: "CL_INVALID_BUILD_OPTIONS",
	-44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME",
	-47: "CL_INVALID_KERNEL_DEFINITION", -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX",
	-50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
	-53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE",
	-56: "CL_INVALID_GLOBAL_OFFSET", -57: "CL_INVALID_EVENT_WAIT_LIST", -58: "CL_INVALID_EVENT",
	-59: "CL_INVALID_OPERATION", -60: "CL_INVALID_GL_OBJECT", -61: "CL_INVALID_BUFFER_SIZE",
	-62: "CL_INVALID_MIP_LEVEL", -63: "CL_INVALID_GLOBAL_WORK_SIZE", -64: "CL_INVALID_PROPERTY",
	-65: "CL_INVALID_IMAGE_DESCRIPTOR", -66: "CL_INVALID_COMPILER_OPTIONS", -67: "CL_INVALID_LINKER_OPTIONS",
	-68: "CL_INVALID_DEVICE_PARTITION_COUNT", -69: "CL_INVALID_PIPE_SIZE", -70: "CL_INVALID_DEVICE_QUEUE",
	-71: "CL_INVALID_SPEC_ID", -72: "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
	-1001: "CL_PLATFORM_NOT_FOUND_KHR",
}

// ErrorName names an OpenCL status code ("CL_INVALID_KERNEL_ARGS"), or
// "CL error <n>" for a code the specification does not define.
func ErrorName(code int) string {
	if n, ok := errorNames[code]; ok {
		return n
	}
	return fmt.Sprintf("CL error %d", code)
}

// check turns a status into nil or a *CLError for call.
func check(call string, rc C.cl_int) error {
	switch rc {
	case 0:
		return nil
	case C.SVMRT_CL_MISSING:
		return &CLError{Call: call, Missing: true}
	}
	return &CLError{Call: call, Code: int(rc)}
}

// clError is check for a status known to be a failure.
func clError(call string, rc C.cl_int) error {
	if err := check(call, rc); err != nil {
		return err
	}
	return &CLError{Call: call}
}

// hasEntry reports whether the loaded library exports name.
func hasEntry(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.clshim_has(cs) != 0
}

// ErrBuild is wrapped by every program build failure (see BuildError).
var ErrBuild = errors.New("opencl: program build failed")

// BuildError is a failed clBuildProgram: which kernel, on which device, with
// which options, and the compiler's log. errors.Is(err, ErrBuild) holds.
type BuildError struct {
	Kernel  string // the kernel whose Source failed
	Device  string // the device's name
	Options string // the build options used
	Log     string // CL_PROGRAM_BUILD_LOG
	Err     error  // the *CLError of clBuildProgram
}

// Error includes the whole build log.
func (e *BuildError) Error() string {
	return fmt.Sprintf("opencl: build of kernel %s for %s (options %q) failed: %v\nbuild log:\n%s",
		e.Kernel, e.Device, e.Options, e.Err, strings.TrimSpace(e.Log))
}

// Unwrap returns ErrBuild and the CL error.
func (e *BuildError) Unwrap() []error { return []error{ErrBuild, e.Err} }

// Thin typed wrappers. Handles are the C types; addresses are uintptr.

func createContext(p C.cl_platform_id, d C.cl_device_id) (C.cl_context, error) {
	var rc C.cl_int
	c := C.clshim_create_context(p, d, &rc)
	if rc != 0 || c == nil {
		return nil, clError("clCreateContext", rc)
	}
	return c, nil
}

func createQueue(c C.cl_context, d C.cl_device_id) (C.cl_command_queue, error) {
	var rc C.cl_int
	q := C.clshim_create_queue(c, d, &rc)
	if rc != 0 || q == nil {
		return nil, clError("clCreateCommandQueueWithProperties", rc)
	}
	return q, nil
}

func releaseQueue(q C.cl_command_queue) error {
	return check("clReleaseCommandQueue", C.clshim_release_queue(q))
}

func finish(q C.cl_command_queue) error { return check("clFinish", C.clshim_finish(q)) }
func flush(q C.cl_command_queue) error  { return check("clFlush", C.clshim_flush(q)) }

// buildProgram creates and builds a program from src for one device. On a
// build failure it returns the log too.
func buildProgram(c C.cl_context, d C.cl_device_id, src, options string) (C.cl_program, string, error) {
	csrc := C.CString(src)
	defer C.free(unsafe.Pointer(csrc))
	var rc C.cl_int
	p := C.clshim_create_program(c, csrc, &rc)
	if rc != 0 || p == nil {
		return nil, "", clError("clCreateProgramWithSource", rc)
	}
	copt := C.CString(options)
	defer C.free(unsafe.Pointer(copt))
	if rc := C.clshim_build_program(p, d, copt); rc != 0 {
		log := buildLog(p, d)
		C.clshim_release_program(p)
		return nil, log, clError("clBuildProgram", rc)
	}
	return p, "", nil
}

func buildLog(p C.cl_program, d C.cl_device_id) string {
	var n C.size_t
	if C.clshim_build_log(p, d, 0, nil, &n) != 0 || n == 0 {
		return "(no build log)"
	}
	buf := (*C.char)(C.malloc(n))
	defer C.free(unsafe.Pointer(buf))
	if C.clshim_build_log(p, d, n, buf, nil) != 0 {
		return "(no build log)"
	}
	return C.GoStringN(buf, C.int(n))
}

func createKernel(p C.cl_program, name string) (C.cl_kernel, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var rc C.cl_int
	k := C.clshim_create_kernel(p, cname, &rc)
	if rc != 0 || k == nil {
		return nil, clError("clCreateKernel("+name+")", rc)
	}
	return k, nil
}

func kernelNumArgs(k C.cl_kernel) (int, error) {
	var n C.cl_uint
	if err := check("clGetKernelInfo(CL_KERNEL_NUM_ARGS)", C.clshim_kernel_num_args(k, &n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// kernelArgAddress is the address qualifier of argument i (needs the
// program built with -cl-kernel-arg-info); ok is false when the
// implementation cannot tell.
func kernelArgAddress(k C.cl_kernel, i int) (C.cl_uint, bool) {
	var q C.cl_uint
	if C.clshim_kernel_arg_address(k, C.cl_uint(i), &q) != 0 {
		return 0, false
	}
	return q, true
}

// kernelArgString is a string property of argument i (CL_KERNEL_ARG_TYPE_NAME,
// CL_KERNEL_ARG_NAME; needs -cl-kernel-arg-info); ok is false when the
// implementation cannot tell.
func kernelArgString(k C.cl_kernel, i int, param C.cl_uint) (string, bool) {
	var n C.size_t
	if C.clshim_kernel_arg_info(k, C.cl_uint(i), param, 0, nil, &n) != 0 || n == 0 {
		return "", false
	}
	buf := make([]byte, n)
	if C.clshim_kernel_arg_info(k, C.cl_uint(i), param, n, unsafe.Pointer(&buf[0]), nil) != 0 {
		return "", false
	}
	return strings.TrimRight(string(buf), "\x00 "), true
}

// kernelWorkGroupSize is CL_KERNEL_WORK_GROUP_SIZE: the largest work-group
// this kernel can run with on d (0 when the implementation cannot tell).
func kernelWorkGroupSize(k C.cl_kernel, d C.cl_device_id) int {
	var v C.size_t
	if C.clshim_kernel_wg_info(k, d, C.SVMRT_CL_KERNEL_WORK_GROUP_SIZE, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v), nil) != 0 {
		return 0
	}
	return int(v)
}

// liveSVM counts the SVM allocations svmAlloc made that svmFree has not
// freed (the tests check that nothing leaks).
var liveSVM atomic.Int64

// svmAlloc is clSVMAlloc (128-byte aligned); 0 on failure.
func svmAlloc(ctx C.cl_context, flags C.cl_bitfield, n uintptr) uintptr {
	p := uintptr(C.clshim_svm_alloc(ctx, flags, C.size_t(n), 128))
	if p != 0 {
		liveSVM.Add(1)
	}
	return p
}

// svmFree is clSVMFree of what svmAlloc returned.
func svmFree(ctx C.cl_context, p uintptr) {
	if p != 0 {
		C.clshim_svm_free(ctx, C.uintptr_t(p))
		liveSVM.Add(-1)
	}
}

// kernelCompileWorkGroupSize is CL_KERNEL_COMPILE_WORK_GROUP_SIZE: the
// work-group size the source requires (reqd_work_group_size), or zeros.
func kernelCompileWorkGroupSize(k C.cl_kernel, d C.cl_device_id) [3]int {
	var v [3]C.size_t
	if C.clshim_kernel_wg_info(k, d, C.SVMRT_CL_KERNEL_COMPILE_WORK_GROUP_SIZE, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v[0]), nil) != 0 {
		return [3]int{}
	}
	return [3]int{int(v[0]), int(v[1]), int(v[2])}
}

func waitEvent(ev C.cl_event) error {
	if err := check("clWaitForEvents", C.clshim_wait_event(ev)); err != nil {
		// A command that failed on the device: the event's status is the
		// negative error code.
		var st C.cl_int
		if C.clshim_event_status(ev, &st) == 0 && st < 0 {
			return fmt.Errorf("%w: the command failed on the device with %s", err, ErrorName(int(st)))
		}
		return err
	}
	return nil
}

func releaseEvent(ev C.cl_event) {
	if ev != nil {
		C.clshim_release_event(ev)
	}
}

// signalsRestored counts the signal handlers put back after an OpenCL call
// replaced them (see clshim.c: PoCL's LLVM installs crash handlers).
func signalsRestored() int { return int(C.clshim_signals_restored()) }

// guardEnter and guardLeave bracket code the way the binding brackets each
// OpenCL call that may replace signal handlers (for tests).
func guardEnter() { C.clshim_guard_enter() }
func guardLeave() { C.clshim_guard_leave() }
