package opencl

/*
#include "clshim.h"
*/
import "C"

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
)

// shared is the process-wide state of one OpenCL device: its context, the
// programs built for it and the results of its probes. Devices opened on
// the same OpenCL device share it (each has its own queue), so a program is
// compiled once per process and device however many times the device is
// opened (PoCL compiles with LLVM: seconds per program). It lives until the
// process exits: contexts and programs are never released.
type shared struct {
	info DeviceInfo
	ctx  C.cl_context

	// stdOpt is the -cl-std option for every build; scopeOpt the
	// memory_scope_all_svm_devices substitute when the compiler lacks it.
	stdOpt, scopeOpt string

	mu    sync.Mutex          // protects progs
	progs map[string]*program // by kernel name + "\x00" + source

	sentinelMu  sync.Mutex // protects sentinelPtr
	sentinelPtr uintptr    // a 128-byte SVM allocation, never freed (see sentinel)

	probeOnce   sync.Once
	probeMode   Mode   // ModePassThrough or ModeBuffer, set by probeOnce
	probeWhy    string // why
	execFineOK  bool   // clSetKernelExecInfo(FINE_GRAIN_SYSTEM) accepted
	execFineWhy string
}

var (
	sharedMu sync.Mutex // protects sharedBy
	sharedBy = map[C.cl_device_id]*shared{}
)

// sharedFor returns (creating on first use) the shared state of info's
// device.
func sharedFor(info DeviceInfo) (*shared, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s := sharedBy[info.device]; s != nil {
		return s, nil
	}
	ctx, err := createContext(info.platform, info.device)
	if err != nil {
		return nil, err
	}
	s := &shared{info: info, ctx: ctx, progs: map[string]*program{}}
	s.stdOpt = chooseStd(info)
	// memory_scope_all_svm_devices (OpenCL C 2.0; optional in 3.0, where
	// the feature macro __opencl_c_atomic_scope_all_devices announces it)
	// is needed by kernels that synchronise with the host. PoCL 3.1 builds
	// with -cl-std=CL3.0 and lacks the feature: such kernels get device
	// scope instead (see the package doc).
	if s.stdOpt == "-cl-std=CL3.0" && !slices.Contains(info.CFeatures, "__opencl_c_atomic_scope_all_devices") {
		s.scopeOpt = "-Dmemory_scope_all_svm_devices=memory_scope_device"
	}
	sharedBy[info.device] = s
	return s, nil
}

// sentinel is a small SVM allocation of the context that lives as long as
// the process: the CL_KERNEL_EXEC_INFO_SVM_PTRS list of launches that stage
// nothing (a valid list must name at least one allocation). 0 when
// clSVMAlloc fails; a later call tries again.
func (s *shared) sentinel() uintptr {
	s.sentinelMu.Lock()
	defer s.sentinelMu.Unlock()
	if s.sentinelPtr == 0 {
		s.sentinelPtr = svmAlloc(s.ctx, C.SVMRT_CL_MEM_READ_WRITE, 128)
	}
	return s.sentinelPtr
}

// chooseStd picks the newest OpenCL C standard 2.0 or later the device
// compiles (kernels use 2.0 atomics and get_local_linear_id): 3.0 when
// CL_DEVICE_OPENCL_C_ALL_VERSIONS lists it (PoCL 3.1 reports "OpenCL C 1.2"
// as CL_DEVICE_OPENCL_C_VERSION but lists 3.0 there), else 2.0 when the
// C version says so, else none (the compiler's default, 1.x).
func chooseStd(info DeviceInfo) string {
	for _, v := range info.CVersions {
		if v == "3.0" {
			return "-cl-std=CL3.0"
		}
	}
	if f := strings.Fields(info.CVersion); len(f) >= 3 && f[2] >= "2.0" {
		return "-cl-std=CL2.0"
	}
	return ""
}

// buildOptions are the options every program is built with.
func (s *shared) buildOptions() string {
	return strings.TrimSpace(s.stdOpt + " " + s.scopeOpt + " -cl-kernel-arg-info")
}

// program is one kernel's built program and a pool of its kernel objects.
type program struct {
	mu      sync.Mutex // held while building; protects built, err and the fields below
	built   bool
	err     error // a failed build stays failed (the source does not change)
	prog    C.cl_program
	numArgs int
	quals   []C.cl_uint // address qualifier per argument, nil if unknown
	types   []string    // CL_KERNEL_ARG_TYPE_NAME per argument ("float*", "int"), nil if unknown
	names   []string    // CL_KERNEL_ARG_NAME per argument, nil if unknown
	wgSize  int         // CL_KERNEL_WORK_GROUP_SIZE on the device, 0 if unknown
	reqdWG  [3]int      // CL_KERNEL_COMPILE_WORK_GROUP_SIZE (reqd_work_group_size), zeros if none

	poolMu sync.Mutex    // protects free
	free   []C.cl_kernel // kernel objects not in use by a launch
}

// argInfo queries one piece of information about each of a kernel's n
// arguments; nil when the implementation does not report it (built
// without -cl-kernel-arg-info, say) for some argument.
func argInfo[T any](n int, get func(i int) (T, bool)) []T {
	out := make([]T, n)
	for i := range out {
		v, ok := get(i)
		if !ok {
			return nil
		}
		out[i] = v
	}
	return out
}

// program returns k's program, building it on first use. Concurrent
// callers for the same kernel wait for one build.
func (s *shared) program(k *kernels.Kernel) (*program, error) {
	key := k.Name + "\x00" + k.Source
	var userOpts string
	if pr := k.Program(); pr != nil {
		userOpts = pr.Options // a kernels.Compile program's build options
		key += "\x00" + userOpts
	}
	s.mu.Lock()
	p := s.progs[key]
	if p == nil {
		p = &program{}
		s.progs[key] = p
	}
	s.mu.Unlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.built {
		return p, p.err
	}
	p.built = true
	opts := s.buildOptions()
	if userOpts != "" {
		if strings.Contains(userOpts, "-cl-std=") {
			opts = strings.TrimSpace(strings.Replace(opts, s.stdOpt, "", 1))
		}
		opts += " " + userOpts
	}
	prog, log, err := buildProgram(s.ctx, s.info.device, k.Source, opts)
	if err != nil {
		if log != "" || isCode(err, -11) {
			err = &BuildError{Kernel: k.Name, Device: s.info.Name, Options: opts, Log: log, Err: err}
		}
		p.err = err
		return p, err
	}
	kern, err := createKernel(prog, k.Name)
	if err != nil {
		C.clshim_release_program(prog)
		p.err = fmt.Errorf("opencl: kernel %s: the source defines no __kernel %s: %w", k.Name, k.Name, err)
		return p, p.err
	}
	n, err := kernelNumArgs(kern)
	if err != nil {
		C.clshim_release_kernel(kern)
		C.clshim_release_program(prog)
		p.err = err
		return p, err
	}
	quals := argInfo(n, func(i int) (C.cl_uint, bool) { return kernelArgAddress(kern, i) })
	types := argInfo(n, func(i int) (string, bool) { return kernelArgString(kern, i, C.SVMRT_CL_KERNEL_ARG_TYPE_NAME) })
	names := argInfo(n, func(i int) (string, bool) { return kernelArgString(kern, i, C.SVMRT_CL_KERNEL_ARG_NAME) })
	p.prog, p.numArgs, p.quals, p.types, p.names = prog, n, quals, types, names
	p.wgSize = kernelWorkGroupSize(kern, s.info.device)
	p.reqdWG = kernelCompileWorkGroupSize(kern, s.info.device)
	p.free = append(p.free, kern)
	return p, nil
}

func isCode(err error, code int) bool {
	ce, ok := err.(*CLError)
	return ok && ce.Code == code
}

// get takes a kernel object for one launch (clSetKernelArg on one object
// must not race, so each launch has its own until it has enqueued).
func (p *program) get(name string) (C.cl_kernel, error) {
	p.poolMu.Lock()
	if n := len(p.free); n > 0 {
		k := p.free[n-1]
		p.free = p.free[:n-1]
		p.poolMu.Unlock()
		return k, nil
	}
	p.poolMu.Unlock()
	return createKernel(p.prog, name)
}

// put returns a kernel object to the pool. Arguments set on it stay set,
// but every launch sets all of them again; an enqueued launch captured its
// own copies.
func (p *program) put(k C.cl_kernel) {
	p.poolMu.Lock()
	p.free = append(p.free, k)
	p.poolMu.Unlock()
}

// probeKernel reads p[0] and p[1] and writes p[2] = p[0]*3 + p[1] + 1 and
// p[3] = 0xC0FFEE: a launch on a raw host pointer that both reads and
// writes it.
var probeKernel = &kernels.Kernel{
	Name: "svmrt_host_pointer_probe",
	Params: []kernels.Param{
		{Name: "p", Kind: kernels.PtrU32, Written: true},
	},
	Source: `__kernel void svmrt_host_pointer_probe(__global uint *p) {
	if (get_global_id(0) == 0) {
		p[2] = p[0] * 3u + p[1] + 1u;
		p[3] = 0xC0FFEEu;
	}
}`,
}

// probe decides, once per OpenCL device, whether raw host pointers work
// (pass-through) or launches must stage memory into SVM buffers.
func (s *shared) probe(q C.cl_command_queue) (Mode, string) {
	s.probeOnce.Do(func() {
		s.probeMode, s.probeWhy = s.probeLocked(q)
	})
	return s.probeMode, s.probeWhy
}

func (s *shared) probeLocked(q C.cl_command_queue) (Mode, string) {
	if s.info.AddressBits != 64 {
		return ModeBuffer, fmt.Sprintf("%d-bit device addresses cannot hold host pointers", s.info.AddressBits)
	}
	if s.info.SVM.FineSystem {
		s.execFineOK = true
		return ModePassThrough, "CL_DEVICE_SVM_FINE_GRAIN_SYSTEM"
	}
	if s.info.Type != "cpu" {
		return ModeBuffer, fmt.Sprintf("no fine-grained system SVM (device SVM: %v)", s.info.SVM)
	}
	why, ok := s.probeHostPointer(q)
	if !ok {
		return ModeBuffer, "no fine-grained system SVM, and the host-pointer probe failed: " + why
	}
	return ModePassThrough, "probed host-pointer access (a CPU device without fine-grained system SVM; " + why + ")"
}

// probeHostPointer launches probeKernel on a fresh mmap'd page and checks
// what it read and wrote.
func (s *shared) probeHostPointer(q C.cl_command_queue) (string, bool) {
	page, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return "mmap: " + err.Error(), false
	}
	defer syscall.Munmap(page)
	w := unsafe.Slice((*uint32)(unsafe.Pointer(&page[0])), 4)
	w[0], w[1] = 12345, 678
	addr := uintptr(unsafe.Pointer(&page[0]))

	p, err := s.program(probeKernel)
	if err != nil {
		return err.Error(), false
	}
	k, err := p.get(probeKernel.Name)
	if err != nil {
		return err.Error(), false
	}
	defer p.put(k)
	if err := check("clSetKernelArgSVMPointer", C.clshim_set_arg_svm(k, 0, C.uintptr_t(addr))); err != nil {
		return err.Error(), false
	}
	// Ask for system SVM on this kernel; a device without it may refuse.
	note := "exec info FINE_GRAIN_SYSTEM accepted"
	if err := check("clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM)", C.clshim_exec_info_fine_system(k, 1)); err != nil {
		note = "exec info FINE_GRAIN_SYSTEM refused: " + ErrorName(int(err.(*CLError).Code))
		s.execFineWhy = err.Error()
	} else {
		s.execFineOK = true
	}
	global, local := [3]C.size_t{1, 1, 1}, [3]C.size_t{1, 1, 1}
	var ev C.cl_event
	if err := check("clEnqueueNDRangeKernel", C.clshim_enqueue_ndrange(q, k, 1, &global[0], &local[0], &ev)); err != nil {
		return err.Error(), false
	}
	err = waitEvent(ev)
	releaseEvent(ev)
	if err != nil {
		return err.Error(), false
	}
	if w[2] != 12345*3+678+1 || w[3] != 0xC0FFEE {
		return fmt.Sprintf("the probe kernel read/wrote wrong values: %d %#x", w[2], w[3]), false
	}
	return note, true
}
