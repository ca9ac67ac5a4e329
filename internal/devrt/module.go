package devrt

// #include <dlfcn.h>
// #include <stdlib.h>
// #include "sched.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Module is a loaded kernel module: a shared object built from one OpenCL C
// program for one target (native, or instrumented for the simulated MMU).
// Modules stay loaded for the life of the process (dlclose of code that
// some fiber could still return into is not worth the risk); Load of the
// same path twice returns the same Module.
type Module struct {
	Path string
	MMU  bool // built with instrumented memory accesses (simgpu)
	// NoRestart: the kernels write __local memory directly, so their
	// work-items must park at faults rather than start again.
	NoRestart bool
	// StaticLocal is the bytes of static __local variables (declared in
	// kernel bodies) every work-group gets (staticlocal.go).
	StaticLocal int
	// GlobalBytes is the storage of the program's __global variables
	// (globalvars.go): a module that has any serves one program.
	GlobalBytes int
	owner       uint64 // the clc.Module.Instance it serves (GlobalBytes > 0)
	h           unsafe.Pointer
	lo          uintptr // the module's mapped address range: its constants are
	hi          uintptr // device-visible without a fault (constant memory)
}

var (
	modMu   sync.Mutex
	modules = map[string]*Module{}
)

// Load dlopens the shared object at path and connects it to the runtime.
func Load(path string, mmu bool) (*Module, error) {
	modMu.Lock()
	defer modMu.Unlock()
	if m := modules[path]; m != nil {
		return m, nil
	}
	m, err := open(path, mmu)
	if err != nil {
		return nil, err
	}
	modules[path] = m
	return m, nil
}

// open dlopens the shared object at path (a new load unless dlopen has
// loaded that file before) and connects it to the runtime.
func open(path string, mmu bool) (*Module, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	h := C.dlopen(cp, C.RTLD_NOW|C.RTLD_LOCAL)
	if h == nil {
		return nil, fmt.Errorf("devrt: load %s: %s", path, C.GoString(C.dlerror()))
	}
	m := &Module{Path: path, MMU: mmu, h: h}
	abi := m.sym("__svm_abi")
	if abi == nil {
		return nil, fmt.Errorf("devrt: load %s: not a kernel module (no __svm_abi)", path)
	}
	if v := *(*uint32)(abi); v != C.SVMK_ABI {
		return nil, fmt.Errorf("devrt: load %s: kernel ABI %d, runtime speaks %d (stale cache entry?)", path, v, C.SVMK_ABI)
	}
	slot := m.sym("__svm_rt")
	if slot == nil {
		return nil, fmt.Errorf("devrt: load %s: no __svm_rt", path)
	}
	C.dr_install_rt(slot)
	m.NoRestart = m.sym(noRestartSym) != nil
	if p := m.sym(StaticLocalSym); p != nil {
		m.StaticLocal = int(*(*int64)(p))
	}
	if p := m.sym(GlobalBytesSym); p != nil {
		m.GlobalBytes = int(*(*int64)(p))
	}
	m.lo, m.hi = moduleRange(path)
	return m, nil
}

func (m *Module) sym(name string) unsafe.Pointer {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return C.dlsym(m.h, cn)
}

// Entry returns the trampoline of the named kernel.
func (m *Module) Entry(kernel string) (Entry, error) {
	p := m.sym("__svm_tramp_" + kernel)
	if p == nil {
		return Entry{}, fmt.Errorf("devrt: module %s has no kernel %q", m.Path, kernel)
	}
	return Entry{m: m, fn: p, loop: m.sym(LoopPrefix + kernel), iloop: m.sym(ItemLoopPrefix + kernel), name: LoopPrefix + kernel}, nil
}

// Entry is a kernel's entry point in a loaded module.
type Entry struct {
	m     *Module
	fn    unsafe.Pointer
	loop  unsafe.Pointer // the group loop (native modules, kernels without barriers), or nil
	iloop unsafe.Pointer // the item loop (instrumented modules, kernels without barriers), or nil
	name  string         // the group loop's symbol
}

// GroupLoop reports whether the kernel runs a work-group as one loop (a
// native module's kernel that reaches no barrier).
func (e Entry) GroupLoop() bool { return e.loop != nil }

// ItemLoop reports whether the kernel runs consecutive work-items of a
// group in one loop on the simulated GPU (an instrumented module's kernel
// that reaches no barrier).
func (e Entry) ItemLoop() bool { return e.iloop != nil }

// Module returns the module the entry is in.
func (e Entry) Module() *Module { return e.m }

// Jam reports how the work-item jam (package wijam) treated the kernel's
// group loop: the work-items it interleaves (lanes > 1), or 0 and the
// reason it did not (the kernel has no group loop, the module was built
// without the jam, or the pass's own reason).
func (e Entry) Jam() (lanes int, why string) {
	if e.loop == nil {
		return 0, "no group loop (a barrier, or not a native module)"
	}
	if p := e.m.sym(e.name + "_wijam"); p != nil {
		return int(*(*int32)(p)), ""
	}
	if p := e.m.sym(e.name + "_wijam_no"); p != nil {
		return 0, C.GoString((*C.char)(p))
	}
	return 0, "the module was built without the work-item jam"
}
