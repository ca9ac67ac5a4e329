package opencl

import (
	"errors"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in the fourth review, fixed): the per-kernel
// work-group limits were not checked before enqueue: a kernel compiled
// with reqd_work_group_size launched with another size, or a group larger
// than CL_KERNEL_WORK_GROUP_SIZE, failed in clEnqueueNDRangeKernel
// (CL_INVALID_WORK_GROUP_SIZE) instead of kernels.ErrInvalidNDRange.
func TestWorkGroupLimits(t *testing.T) {
	d := openTest(t, ModeAuto)
	k := &kernels.Kernel{Name: "test_reqd_wg", Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
		Source: `__kernel __attribute__((reqd_work_group_size(64, 1, 1))) void test_reqd_wg(__global uint *out) { out[get_global_id(0)] = get_local_size(0); }`}
	out := make([]uint32, 256)
	if err := launch(t, d, k, kernels.Range1D(256, 64), out); err != nil || out[255] != 64 {
		t.Fatalf("the required work-group size: %v %d", err, out[255])
	}
	err := launch(t, d, k, kernels.Range1D(256, 32), out)
	if !errors.Is(err, kernels.ErrInvalidNDRange) || !strings.Contains(err.Error(), "test_reqd_wg") {
		t.Fatalf("work-group 32 on a kernel compiled for 64: %v, want ErrInvalidNDRange naming the kernel", err)
	}
	t.Log(err)
	// The device's per-dimension and per-kernel limits (PoCL's are all
	// equal to its maximum group size, so they are checked on a copy of
	// the device with smaller ones).
	info := d.sh.info
	info.MaxWorkItemSizes = []int{64, 8, 1}
	small := &Device{index: d.index, sh: &shared{info: info}}
	for _, tc := range []struct {
		nd        kernels.NDRange
		kernelMax int
		ok        bool
	}{
		{kernels.Range2D(128, 16, 64, 4), 0, true},
		{kernels.Range2D(128, 16, 64, 16), 0, false},
		{kernels.Range3D(4, 4, 4, 1, 1, 2), 0, false},
		{kernels.Range1D(256, 128), 0, false},
		{kernels.Range1D(256, 64), 32, false},
		{kernels.Range1D(256, 32), 32, true},
	} {
		err := small.checkGroup(tc.nd, tc.kernelMax)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, kernels.ErrInvalidNDRange)) {
			t.Errorf("%+v (kernel max %d): %v", tc.nd, tc.kernelMax, err)
		}
	}
}
