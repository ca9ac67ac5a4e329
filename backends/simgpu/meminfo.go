package simgpu

import (
	"fmt"

	"github.com/svmrt/svmrt/svm"
)

// DeviceMemory reports the device's memory: its size, what no page holds,
// and the pages it holds (resident or read-duplicated), as
// cudaMemGetInfo does. It waits for the operation running now: the
// allocator's released frames are reclaimed first, which only a device
// with no access in flight may do.
func (d *Device) DeviceMemory() (totalBytes, freeBytes int64, residentPages int, err error) {
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	if d.closed {
		return 0, 0, 0, fmt.Errorf("simgpu: memory info of %s: %w", d.Name(), svm.ErrClosed)
	}
	total := d.mem.Frames()
	free := d.mem.FreeFrames()
	return int64(total) * svm.PageSize, int64(free) * svm.PageSize, total - free, nil
}
