package devrt

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/svmrt/svmrt/internal/clc"
)

// Program-scope variables: one copy per program
//
//	__global int hits;                                   // program scope
//	__kernel void k(...) { static __global long n; ... } // function scope
//
// Clang makes each a module global in address space 1, and the module's
// shared object holds its storage (.data, or .bss for those without an
// initializer). OpenCL gives every program object its own: two programs
// built from the same source must not see each other's values, and each
// starts from the initializers. A loaded object's data is per load, and
// dlopen loads a file once per process (it knows it again by path, and by
// device and inode), so the shared object that the on-disk cache gives
// every build of one source serves one program only: the first to run a
// kernel. Every later program with such variables loads a private copy of
// the file, written to a temporary file that is unlinked once mapped.
// Programs without them share one load.
//
// The build measures the variables (clc.GlobalVariableBytes, on the
// optimised program before the kernel-side runtime joins it, so the
// runtime's own state does not count) and records the bytes in the module's
// GlobalBytesSym constant. Copies are never unloaded, like every module
// (module.go): a process that builds N programs with variables from one
// source holds N loads of it.

// GlobalBytesSym is the module's constant holding the bytes of its
// program's __global variables (absent when it has none).
const GlobalBytesSym = "__svm_global_bytes"

// withGlobalBytes appends GlobalBytesSym to module text ll when its
// program has __global variables.
func withGlobalBytes(ll string) (string, bool, error) {
	n, err := clc.GlobalVariableBytes(ll)
	if err != nil || n == 0 {
		return ll, false, err
	}
	return ll + fmt.Sprintf("\n@%s = constant i64 %d\n", GlobalBytesSym, n), true, nil
}

type instanceKey struct {
	program uint64 // clc.Module.Instance
	target  Target
}

var (
	instanceMu sync.Mutex
	instances  = map[instanceKey]*Module{}
)

// programInstance returns program's own load of shared, the module built
// for it: shared itself for the first program to ask, a private copy for
// every other one. Modules without __global variables are shared.
func programInstance(program *clc.Module, target Target, shared *Module) (*Module, error) {
	if shared.GlobalBytes == 0 {
		return shared, nil
	}
	k := instanceKey{program.Instance(), target}
	instanceMu.Lock()
	defer instanceMu.Unlock()
	if m := instances[k]; m != nil {
		return m, nil
	}
	m := shared
	if shared.owner != 0 {
		var err error
		if m, err = loadCopy(shared.Path, shared.MMU); err != nil {
			return nil, err
		}
	}
	m.owner = k.program
	instances[k] = m
	return m, nil
}

// loadCopy loads a private copy of the shared object at path: a new file
// (a new inode, so dlopen cannot take it for the loaded one), unlinked once
// it is mapped.
func loadCopy(path string, mmu bool) (*Module, error) {
	fail := func(err error) (*Module, error) {
		return nil, fmt.Errorf("devrt: copy of %s for a program's __global variables: %w", path, err)
	}
	so, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "program-*.so")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(so)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	m, err := open(f.Name(), mmu)
	if err != nil {
		return nil, err
	}
	m.Path = path // what it is a copy of, for messages
	return m, nil
}
