package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"math"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
)

// Kernel launches: clEnqueueNDRangeKernel checks the range against what the
// device executes (kernels.NDRange: 1 to 3 dimensions, uniform work-groups
// of at most kernels.MaxWorkGroupSize items), snapshots the arguments, and
// queues a runtime launch on the simulated GPU. A NULL local size is the
// kernel's reqd_work_group_size, else its work_group_size_hint when that
// divides the range, else chosen here (pickLocal). A global work offset goes
// to the runtime's NDRange (Offset): ids start there, and get_global_offset
// returns it.

// pickLocal chooses a work-group for a global size when the caller gives
// none: the largest divisor of each dimension that keeps the group within
// 256 work-items (a multiple of the warp size when the global size allows),
// dimension 0 first.
func pickLocal(dims int, global [3]int) [3]int {
	local := [3]int{1, 1, 1}
	budget := 256
	for d := 0; d < dims; d++ {
		best := 1
		for l := min(global[d], budget); l >= 1; l-- {
			if global[d]%l == 0 {
				best = l
				break
			}
		}
		local[d] = best
		budget /= best
	}
	return local
}

//export svmrt_go_enqueue_kernel
func svmrt_go_enqueue_kernel(qh, kh unsafe.Pointer, dims C.cl_uint, offset, global, local *C.size_t,
	n C.cl_uint, list *unsafe.Pointer, evOut *unsafe.Pointer, task C.int) C.cl_int {
	reg.mu.Lock()
	q := queueOfLocked(qh)
	k := kernelOfLocked(kh)
	reg.mu.Unlock()
	if q == nil {
		return C.CL_INVALID_COMMAND_QUEUE
	}
	if k == nil {
		return C.CL_INVALID_KERNEL
	}
	if k.prog.ctx != q.ctx {
		return C.CL_INVALID_CONTEXT
	}
	nd := kernels.NDRange{Dims: 1, Global: [3]int{1, 1, 1}, Local: [3]int{1, 1, 1}}
	reqd := k.info.ReqdWorkGroupSize
	empty := false
	if task == 0 {
		if dims < 1 || dims > 3 {
			return C.CL_INVALID_WORK_DIMENSION
		}
		nd.Dims = int(dims)
		var gs []C.size_t
		if global == nil {
			// OpenCL 2.1 deprecated CL_INVALID_GLOBAL_WORK_SIZE for a
			// NULL global size: like a size of 0, a launch that does
			// nothing (its event completes).
			empty = true
		} else {
			gs = unsafe.Slice(global, int(dims))
		}
		for d, g := range gs {
			if uint64(g) > math.MaxInt32 {
				return C.CL_INVALID_GLOBAL_WORK_SIZE
			}
			if g == 0 {
				empty = true // OpenCL 2.1+: a launch of no work-items does nothing
			}
			nd.Global[d] = int(g)
		}
		if offset != nil {
			for d, o := range unsafe.Slice(offset, int(dims)) {
				// The ids of the range must fit in a size_t (and in
				// the runtime's int).
				if uint64(o) > math.MaxInt64-uint64(nd.Global[d]) {
					return C.CL_INVALID_GLOBAL_OFFSET
				}
				nd.Offset[d] = int(o)
			}
		}
		if local != nil {
			ls := unsafe.Slice(local, int(dims))
			total := 1
			for d, l := range ls {
				if l == 0 {
					return C.CL_INVALID_WORK_GROUP_SIZE
				}
				if uint64(l) > kernels.MaxWorkGroupSize {
					return C.CL_INVALID_WORK_ITEM_SIZE
				}
				nd.Local[d] = int(l)
				total *= int(l)
			}
			if total > kernels.MaxWorkGroupSize {
				return C.CL_INVALID_WORK_GROUP_SIZE
			}
			if reqd != [3]int{} {
				for d := 0; d < 3; d++ {
					want := reqd[d]
					if want == 0 {
						want = 1
					}
					if nd.Local[d] != want {
						return C.CL_INVALID_WORK_GROUP_SIZE
					}
				}
			}
			if !empty {
				for d := 0; d < nd.Dims; d++ {
					// No non-uniform work-groups
					// (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT is false).
					if nd.Global[d]%nd.Local[d] != 0 {
						return C.CL_INVALID_WORK_GROUP_SIZE
					}
				}
			}
		} else if reqd != [3]int{} {
			for d := 0; d < 3; d++ {
				nd.Local[d] = max(reqd[d], 1)
				if !empty && nd.Global[d]%nd.Local[d] != 0 {
					return C.CL_INVALID_WORK_GROUP_SIZE
				}
			}
		} else if !empty {
			nd.Local = pickLocal(nd.Dims, nd.Global)
			// The kernel's work_group_size_hint, when it fits the range.
			if h := k.info.WorkGroupSizeHint; h != [3]int{} {
				fits, total := true, 1
				for d := 0; d < 3; d++ {
					l := max(h[d], 1)
					fits = fits && (d < nd.Dims || l == 1) && nd.Global[d]%l == 0
					total *= l
				}
				if fits && total <= kernels.MaxWorkGroupSize {
					nd.Local = [3]int{max(h[0], 1), max(h[1], 1), max(h[2], 1)}
				}
			}
		}
	} else if reqd != [3]int{} && reqd != [3]int{1, 1, 1} {
		// clEnqueueTask is one work-group of one work-item.
		return C.CL_INVALID_WORK_GROUP_SIZE
	}
	if !empty {
		if err := nd.Validate(); err != nil {
			return C.CL_INVALID_GLOBAL_WORK_SIZE // the sizes checked above leave only an overflowing total
		}
	}
	waits, code := waitList(q.ctx, n, list)
	if code != C.CL_SUCCESS {
		return code
	}
	var static uint64
	if !empty {
		static = k.prog.staticLocal() // takes reg.mu
	}
	reg.mu.Lock()
	for _, s := range k.set {
		if !s {
			reg.mu.Unlock()
			return C.CL_INVALID_KERNEL_ARGS
		}
	}
	args := append([]any(nil), k.args...)
	var mems []*mem
	for _, m := range k.mems {
		if m != nil {
			if m.refs == 0 {
				// Released since it was set: its storage may be gone.
				reg.mu.Unlock()
				return C.CL_INVALID_KERNEL_ARGS
			}
			mems = append(mems, m)
		}
	}
	if !empty {
		local := static
		for i, p := range k.k.Params {
			if p.Kind == kernels.LocalMem {
				local += uint64(args[i].(int))
			}
		}
		if local > simgpu.DefaultLocalMemory { // a group's local memory: its arguments and static variables
			reg.mu.Unlock()
			return C.CL_OUT_OF_RESOURCES
		}
	}
	reg.mu.Unlock()
	cmd := C.cl_command_type(C.CL_COMMAND_NDRANGE_KERNEL)
	if task != 0 {
		cmd = C.CL_COMMAND_TASK
	}
	dev := q.dev.dev
	kern := k.k
	var run func() error
	if !empty {
		run = func() error {
			return waitDevice(dev.Launch(gocontext.Background(), kern, nd, args...))
		}
	}
	return enqueueOn(q, cmd, waits, run, C.CL_FALSE, evOut, mems...)
}
