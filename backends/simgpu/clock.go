package simgpu

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// TimeCategory says what a span of simulated time was spent on, so a summary
// can break the total down.
type TimeCategory uint8

// The categories of simulated time.
const (
	// TimeCompute is kernel execution (ComputeTime of the waves).
	TimeCompute TimeCategory = iota
	// TimeFaultService is fault-batch servicing (BatchServiceTime), without
	// the data transfers.
	TimeFaultService
	// TimeTransferH2D is host-to-device DMA (migrations to VRAM, prefetch).
	TimeTransferH2D
	// TimeTransferD2H is device-to-host DMA (eviction, migration back).
	TimeTransferD2H
	// TimeTransferPeer is device-to-device DMA (a page moving between GPUs).
	TimeTransferPeer
	// TimeCPUFault is the service of CPU faults on this device's pages
	// (charged at the device's next operation).
	TimeCPUFault
	// TimeRemote is device access to host memory over PCIe without migration,
	// when charged apart from a wave's compute time.
	TimeRemote
	// TimeOther is everything else; Clock.Advance charges it.
	TimeOther

	numTimeCategories = iota
)

var timeCategoryNames = [numTimeCategories]string{
	TimeCompute:      "compute",
	TimeFaultService: "fault-service",
	TimeTransferH2D:  "transfer-h2d",
	TimeTransferD2H:  "transfer-d2h",
	TimeTransferPeer: "transfer-peer",
	TimeCPUFault:     "cpu-fault",
	TimeRemote:       "remote",
	TimeOther:        "other",
}

// TimeCategories lists every category in a fixed order (the order of
// ClockBreakdown's fields and of its String form).
func TimeCategories() []TimeCategory {
	cats := make([]TimeCategory, numTimeCategories)
	for i := range cats {
		cats[i] = TimeCategory(i)
	}
	return cats
}

// String returns the category's short name, e.g. "fault-service".
func (c TimeCategory) String() string {
	if int(c) < len(timeCategoryNames) {
		return timeCategoryNames[c]
	}
	return fmt.Sprintf("TimeCategory(%d)", uint8(c))
}

// Clock is a device's simulated clock: a monotonic count of simulated
// nanoseconds since the clock was created or Reset, with the time attributed
// to categories. Simulated time advances only when the simulator says so, never
// with host time, so a run that charges the same durations in the same order
// ends at the same instant on every machine.
//
// The zero value is a clock at 0, ready to use. All methods are safe for
// concurrent use (one mutex); the design is that a single scheduler goroutine
// advances the clock while others may read it, e.g. for progress reports.
// The invariant Now() == Breakdown().Total() always holds.
type Clock struct {
	mu sync.Mutex
	// now is the current simulated time. Guarded by mu.
	now time.Duration
	// spent is the time charged per category. Guarded by mu.
	spent [numTimeCategories]time.Duration
	// charges counts the non-zero charges per category. Guarded by mu.
	charges [numTimeCategories]int64
}

// Advance moves the clock forward by d, attributed to TimeOther. It panics
// if d is negative: simulated time never goes back.
func (c *Clock) Advance(d time.Duration) {
	c.Charge(TimeOther, d)
}

// Charge moves the clock forward by d and attributes d to cat. A zero d is a
// no-op. It panics if d is negative or cat is not a known category. Time
// saturates at the largest time.Duration (about 292 years) instead of
// wrapping.
func (c *Clock) Charge(cat TimeCategory, d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("simgpu: Clock.Charge(%v, %v): negative duration", cat, d))
	}
	if int(cat) >= numTimeCategories {
		panic(fmt.Sprintf("simgpu: Clock.Charge: unknown category %d", uint8(cat)))
	}
	if d == 0 {
		return
	}
	c.mu.Lock()
	c.now = clockSatAdd(c.now, d)
	c.spent[cat] = clockSatAdd(c.spent[cat], d)
	c.charges[cat]++
	c.mu.Unlock()
}

// Now returns the current simulated time since the clock started.
func (c *Clock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Breakdown returns a snapshot of where the time went.
func (c *Clock) Breakdown() ClockBreakdown {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ClockBreakdown{
		Compute:      c.spent[TimeCompute],
		FaultService: c.spent[TimeFaultService],
		TransferH2D:  c.spent[TimeTransferH2D],
		TransferD2H:  c.spent[TimeTransferD2H],
		TransferPeer: c.spent[TimeTransferPeer],
		CPUFault:     c.spent[TimeCPUFault],
		Remote:       c.spent[TimeRemote],
		Other:        c.spent[TimeOther],
	}
}

// Charges returns how many non-zero charges cat received (e.g. the number of
// fault batches for TimeFaultService when the scheduler charges one per
// batch).
func (c *Clock) Charges(cat TimeCategory) int64 {
	if int(cat) >= numTimeCategories {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.charges[cat]
}

// Reset sets the clock back to 0 and clears the breakdown.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = 0
	c.spent = [numTimeCategories]time.Duration{}
	c.charges = [numTimeCategories]int64{}
}

// ClockBreakdown is the simulated time per category.
type ClockBreakdown struct {
	Compute      time.Duration
	FaultService time.Duration
	TransferH2D  time.Duration
	TransferD2H  time.Duration
	TransferPeer time.Duration
	CPUFault     time.Duration
	Remote       time.Duration
	Other        time.Duration
}

// Get returns the time of one category (0 for an unknown one).
func (b ClockBreakdown) Get(cat TimeCategory) time.Duration {
	switch cat {
	case TimeCompute:
		return b.Compute
	case TimeFaultService:
		return b.FaultService
	case TimeTransferH2D:
		return b.TransferH2D
	case TimeTransferD2H:
		return b.TransferD2H
	case TimeTransferPeer:
		return b.TransferPeer
	case TimeCPUFault:
		return b.CPUFault
	case TimeRemote:
		return b.Remote
	case TimeOther:
		return b.Other
	}
	return 0
}

// Total returns the sum over all categories (saturating).
func (b ClockBreakdown) Total() time.Duration {
	var t time.Duration
	for _, cat := range TimeCategories() {
		t = clockSatAdd(t, b.Get(cat))
	}
	return t
}

// Map returns the breakdown keyed by category name (TimeCategory.String).
func (b ClockBreakdown) Map() map[string]time.Duration {
	m := make(map[string]time.Duration, numTimeCategories)
	for _, cat := range TimeCategories() {
		m[cat.String()] = b.Get(cat)
	}
	return m
}

// String formats the non-zero categories in fixed order with their share of
// the total, e.g. "compute=1.2ms (40.0%) fault-service=1.8ms (60.0%)".
func (b ClockBreakdown) String() string {
	total := b.Total()
	if total == 0 {
		return "no simulated time"
	}
	var sb strings.Builder
	for _, cat := range TimeCategories() {
		d := b.Get(cat)
		if d == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		// Share in per-mille, truncated: one division and one
		// multiplication, both exactly rounded, so identical everywhere.
		permille := int64(float64(d) / float64(total) * 1000)
		fmt.Fprintf(&sb, "%s=%v (%d.%d%%)", cat, d, permille/10, permille%10)
	}
	return sb.String()
}

func clockSatAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
