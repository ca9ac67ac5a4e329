package cpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/internal/errdefs"
	"github.com/svmrt/svmrt/kernels"
)

// Compiled kernels: the kernel's OpenCL C built for the host (no
// instrumentation: every access is a plain load or store of the program's
// own pointers) and run by the device runtime (internal/devrt), work-groups
// handed out to the workers one at a time. A kernel that reaches no barrier
// runs each group as one loop around the kernel, whose neighbouring
// work-items the work-item jam (internal/devrt/wijam) interleaves eight at
// a time for the vectorizer where that is safe; one with barriers runs its
// work-items as fibers. A hardware fault in a work-item (a bad pointer, an
// integer division by zero) fails the launch with a *kernels.PanicError
// naming the work-item and address, as a Go body's fault does; the process
// goes on.

// LocalMemory is the local memory one work-group may use on this device
// (the __local arguments of a launch, summed). It is host memory; the limit
// keeps a size taken from a bad argument from exhausting the process.
const LocalMemory = 16 << 20

// ErrOutOfLocalMemory is wrapped by a launch whose __local arguments exceed
// LocalMemory.
var ErrOutOfLocalMemory = errors.New("cpu: out of local memory")

// WithGoBodies makes the device run the Go Body of kernels that have one
// instead of compiling their OpenCL C source (for cross-checking the two).
func WithGoBodies() Option { return func(d *Device) { d.goBodies = true } }

// launchCompiled runs compiled kernel c (the compiled form of k, whose
// arguments a were bound for) natively.
func (d *Device) launchCompiled(ctx context.Context, k, c *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	rl, err := devrt.Prepare(ctx, d.Name(), k, c, nd, a, devrt.Native, LocalMemory, ErrOutOfLocalMemory)
	if err != nil {
		return err
	}
	defer rl.Free()
	d.compiledLaunches.Add(1)
	fails, err := devrt.RunNative(ctx, rl, d.workers)
	runtime.KeepAlive(a) // the addresses in the arguments are only as good as a.Keep
	if len(fails) > 0 {
		first := fails[0]
		for _, f := range fails[1:] {
			if f.Group < first.Group {
				first = f
			}
		}
		return first.Err(d.Name(), k.Name, rl.Geom, nil)
	}
	if err != nil {
		return err
	}
	d.groups.Add(uint64(nd.TotalGroups()))
	d.items.Add(uint64(nd.TotalGroups() * nd.GroupSize()))
	return nil
}

// errNoBody is the launch error for a kernel the device cannot run.
func errNoBody(k *kernels.Kernel) error {
	return fmt.Errorf("cpu: kernel %s has neither OpenCL C source nor a Go body: %w", k.Name, errdefs.ErrNotSupported)
}
