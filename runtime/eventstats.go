package runtime

import (
	"fmt"
	"time"

	"github.com/svmrt/svmrt/backends"
)

// Per-command statistics: what the device's counters did while one
// command ran, taken by the queue worker around it (commands on a device
// run one at a time, in order).

// EventStats are what one command did (Event.Stats, after Wait). They are
// the device's counters over the command's run: what a device does not
// count stays zero — cpu counts no faults or migrations (it uses host
// memory as it is), opencl counts bytes it staged in buffer mode, and only
// a simulated device has a simulated clock.
type EventStats struct {
	DeviceFaults int64 // raw device page faults
	FaultBatches int64
	PagesH2D     int64 // pages migrated host → device
	BytesH2D     int64 // bytes moved host → device (migrated, or staged by a device without SVM)
	PagesD2H     int64 // pages migrated device → host (evictions, explicit, CPU faults during the command)
	BytesD2H     int64
	// CPUFaults are CPU faults on the device's pages while the command
	// ran (another goroutine touching them). A simulated device charges
	// the CPU faults taken before a command at that command's start, so
	// their cost is in its SimulatedTime, their count in no command's.
	CPUFaults int64
	Evictions int64
	// SimulatedTime is how far the simulated clock moved (0 on devices
	// without one).
	SimulatedTime time.Duration
	// HostTime is the wall time from the queue starting the command to its
	// end.
	HostTime time.Duration
}

// Stats returns what the command did and true once it has finished
// (after Wait, or once Done is closed); false before, with zero stats. A
// command that did not run (its context was done first) has zero stats.
func (e *Event) Stats() (EventStats, bool) {
	select {
	case <-e.done:
		return e.stats, true
	default:
		return EventStats{}, false
	}
}

// eventStats is the difference of the device's counters after and before
// a command that took host.
func eventStats(before, after backends.Counters, host time.Duration) EventStats {
	return EventStats{
		DeviceFaults:  after.DeviceFaults - before.DeviceFaults,
		FaultBatches:  after.FaultBatches - before.FaultBatches,
		PagesH2D:      after.PagesH2D - before.PagesH2D,
		BytesH2D:      after.BytesH2D - before.BytesH2D,
		PagesD2H:      after.PagesD2H - before.PagesD2H,
		BytesD2H:      after.BytesD2H - before.BytesD2H,
		CPUFaults:     after.CPUFaults - before.CPUFaults,
		Evictions:     after.Evictions - before.Evictions,
		SimulatedTime: after.SimulatedTime - before.SimulatedTime,
		HostTime:      host,
	}
}

// MemInfo is a device's memory as Device.MemInfo reports it.
type MemInfo struct {
	TotalBytes    int64 // the device's memory
	FreeBytes     int64 // memory no page occupies
	ResidentPages int   // pages in the device's memory (resident, or read-duplicated there)
}

// deviceMemory is a device with private memory that reports its use (the
// simulated GPU).
type deviceMemory interface {
	DeviceMemory() (totalBytes, freeBytes int64, residentPages int, err error)
}

// MemInfo reports d's device memory: total and free bytes and the pages it
// holds (cudaMemGetInfo, with the resident page count). A device whose
// kernels use host memory itself (cpu, OpenCL devices through the
// program's pointers) has no device memory of its own to report: an
// error wrapping ErrNotSupported. It waits for the command running now.
func (d *Device) MemInfo() (MemInfo, error) {
	if err := d.checkOpen("memory info"); err != nil {
		return MemInfo{}, err
	}
	m, ok := d.be.(deviceMemory)
	if !ok {
		return MemInfo{}, d.fail("memory info", fmt.Errorf("device reports no device memory of its own: %w", ErrNotSupported))
	}
	total, free, resident, err := m.DeviceMemory()
	if err != nil {
		return MemInfo{}, d.fail("memory info", err)
	}
	return MemInfo{TotalBytes: total, FreeBytes: free, ResidentPages: resident}, nil
}
