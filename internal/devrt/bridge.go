package devrt

import (
	"context"
	"fmt"
	"syscall"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// The devices' side of a compiled launch: turning the kernels package's
// NDRange, bound arguments and errors into the runtime's, shared by cpu and
// simgpu.

// GeometryOf is nd as the runtime takes it.
func GeometryOf(nd kernels.NDRange) Geometry {
	g := Geometry{Dims: nd.Dims}
	for i := 0; i < 3; i++ {
		g.Global[i], g.Local[i], g.Offset[i] = max(nd.Global[i], 1), max(nd.Local[i], 1), nd.Offset[i]
	}
	return g
}

// LaunchArgs turns a's values for compiled kernel c (the compiled form of
// k, which a was bound for) into the runtime's arguments. The __local
// arguments of one work-group may add up to at most localLimit bytes (the
// device's local memory; 0: no limit); more is an error wrapping
// outOfMemory.
func LaunchArgs(dev string, k, c *kernels.Kernel, nd kernels.NDRange, a *kernels.Args, localLimit int, outOfMemory error) ([]Arg, error) {
	vals, err := k.Values(c, nd, a)
	if err != nil {
		return nil, err
	}
	args := make([]Arg, len(vals))
	local := 0
	for i, v := range vals {
		args[i] = Arg{Bytes: v.Bytes, Local: v.Local}
		if c.Params[i].Kind == kernels.LocalMem {
			if v.Local <= 0 {
				return nil, fmt.Errorf("%w: kernel %s: __local parameter %s needs a size > 0 bytes, got %d",
					kernels.ErrBadArgs, c.Name, c.Params[i].Name, v.Local)
			}
			local += v.Local
		}
	}
	if localLimit > 0 && local > localLimit {
		return nil, fmt.Errorf("%s: kernel %s asks for %d bytes of local memory per work-group; the device has %d: %w",
			dev, c.Name, local, localLimit, outOfMemory)
	}
	return args, nil
}

// GlobalID is the global id of local item li (linear) of linear group g.
func (g Geometry) GlobalID(group, li int) [3]int {
	var id [3]int
	ng0 := g.Global[0] / g.Local[0]
	ng1 := g.Global[1] / g.Local[1]
	gid := [3]int{group % ng0, group / ng0 % ng1, group / (ng0 * ng1)}
	lid := [3]int{li % g.Local[0], li / g.Local[0] % g.Local[1], li / (g.Local[0] * g.Local[1])}
	for d := range 3 {
		id[d] = gid[d]*g.Local[d] + lid[d] + g.Offset[d]
	}
	return id
}

// Err is the launch error for group failure f of kernel on device dev.
// abort is why the group's item was aborted, if the device knows (a fault
// the MMU could not resolve).
func (f GroupFailure) Err(dev, kernel string, g Geometry, abort error) error {
	switch f.Why {
	case FailAbort:
		if abort != nil {
			return abort
		}
		return fmt.Errorf("%s: kernel %s: work-group %d aborted", dev, kernel, f.Group)
	case FailDivergeEnd:
		return fmt.Errorf("%w: kernel %s, work-group %d: work-item %d returned while others wait at barrier #%d",
			kernels.ErrBarrierDivergence, kernel, f.Group, f.LocalItem, f.Barrier)
	case FailDivergeLate:
		return fmt.Errorf("%w: kernel %s, work-group %d: work-item %d reached barrier #%d after %d work-item(s) returned without reaching it",
			kernels.ErrBarrierDivergence, kernel, f.Group, f.LocalItem, f.Barrier, f.Exited)
	case FailNoStack:
		return fmt.Errorf("%s: kernel %s, work-group %d: %w", dev, kernel, f.Group, ErrNoStack)
	case FailSegv:
		// The same error a Go body's fault gives (kernels.RunGroup), so
		// callers classify both alike.
		pe := &kernels.PanicError{Kernel: kernel, Group: f.Group, GlobalID: kernels.UnknownItem}
		if f.LocalItem >= 0 { // -1: the group ran as one (vectorized) loop
			pe.GlobalID = g.GlobalID(f.Group, f.LocalItem)
		}
		switch syscall.Signal(f.Signal) {
		case syscall.SIGFPE:
			pe.Value = "arithmetic fault (SIGFPE: integer division by zero or overflow)"
		default:
			pe.Value = fmt.Sprintf("memory fault (%v) at %#x", syscall.Signal(f.Signal), f.Addr)
			pe.Addr, pe.Fault = uintptr(f.Addr), true
		}
		return pe
	case FailMisaligned:
		return &svm.FaultError{Device: dev, Addr: uintptr(f.Addr), Write: true,
			Reason: fmt.Sprintf("misaligned %d-byte atomic in kernel %s, work-group %d (atomics must be aligned to their size)", f.Width, kernel, f.Group),
			Err:    svm.ErrDeviceFault}
	}
	return fmt.Errorf("%s: kernel %s, work-group %d failed (%d)", dev, kernel, f.Group, f.Why)
}

// Prepare builds compiled kernel c (the compiled form of k, whose
// arguments a were bound for) for target and makes its launch over nd:
// the arguments checked against the device's local memory (LaunchArgs),
// the module built and loaded (Build), the kernel's entry found. The caller
// frees the launch.
func Prepare(ctx context.Context, dev string, k, c *kernels.Kernel, nd kernels.NDRange, a *kernels.Args,
	target Target, localLimit int, outOfMemory error) (*Launch, error) {
	args, err := LaunchArgs(dev, k, c, nd, a, localLimit, outOfMemory)
	if err != nil {
		return nil, err
	}
	p := c.Program()
	mod, err := Build(ctx, p.Toolchain(), p.Module(), target)
	if err != nil {
		return nil, err
	}
	entry, err := mod.Entry(c.Name)
	if err != nil {
		return nil, err
	}
	local := mod.StaticLocal
	for _, a := range args {
		local += a.Local
	}
	if mod.StaticLocal > 0 && localLimit > 0 && local > localLimit {
		return nil, fmt.Errorf("%s: kernel %s needs %d bytes of local memory per work-group (%d of them its __local variables); the device has %d: %w",
			dev, c.Name, local, mod.StaticLocal, localLimit, outOfMemory)
	}
	l, err := NewLaunch(entry, GeometryOf(nd), args)
	if err != nil {
		return nil, err
	}
	l.LocalBytes = local
	return l, nil
}
