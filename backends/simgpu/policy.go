package simgpu

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/svmrt/svmrt/svm"
)

// Memory policies decide, for every device fault the scheduler services,
// where the page goes: into device memory (migrate), nowhere (the device
// maps the host page over the link), or into device memory as a read-only
// duplicate while the host keeps its copy. They also say which neighbours
// of a faulting page come along (prefetch), what to do about pages that
// bounce between the CPU and the device (thrashing), and which 2 MiB chunk
// of device memory to evict when it is full.
//
// The device provides the mechanisms — migration, eviction, remote
// mappings, the thrashing detector, the advice store — and asks the Policy
// for every decision, so policies can be compared on identical,
// deterministic runs (see `svmrt policies`). Policies run in the fault
// service, with every work-item of the wave stalled; they must be
// deterministic (no clocks, no randomness, no map iteration order).

// Placement is where a policy puts a faulting page.
type Placement uint8

const (
	// Migrate moves the page into the device's memory.
	Migrate Placement = iota
	// MapRemote leaves the page where it is (host memory) and maps it over
	// the link: no transfer, every access pays the link latency.
	MapRemote
	// Duplicate gives the device a read-only copy while the host keeps its
	// page (read duplication); a write by either side collapses the copies.
	// Only for read faults: a write fault asking for it migrates instead.
	Duplicate
)

func (p Placement) String() string {
	switch p {
	case Migrate:
		return "migrate"
	case MapRemote:
		return "map-remote"
	case Duplicate:
		return "duplicate"
	}
	return fmt.Sprintf("Placement(%d)", uint8(p))
}

// FaultInfo is what a policy knows about one faulting page.
type FaultInfo struct {
	Page  uint64 // page address
	Write bool   // the access writes (or is atomic)
	// Advice is the advice in force for the page (SetAdvice).
	Advice svm.Advice
	// AccessedByMe: the advice lists this device as an accessor.
	AccessedByMe bool
	// PreferredHere: the preferred location is this device.
	PreferredHere bool
	// OnOtherDevice: the page is resident on another device.
	OnOtherDevice bool
	// Thrash is the thrashing detector's view of the page.
	Thrash ThrashInfo
	// Now is the device's simulated clock.
	Now time.Duration
}

// ThrashInfo is the thrashing detector's record of one page: how often it
// came back to this device soon (within the lapse) after leaving it.
type ThrashInfo struct {
	// Returns counts consecutive quick returns: migrations into this device
	// each within the lapse of the previous one (reset by a slow return).
	Returns int
	// Throttles counts the times a policy throttled the page (see Verdict).
	Throttles int
	// PinnedUntil is the simulated time until which the page is pinned to
	// the host (mapped remotely); zero when it is not pinned.
	PinnedUntil time.Duration
}

// Thrashing says whether the detector considers the page thrashing under
// the given threshold (UVM: uvm_perf_thrashing_threshold).
func (t ThrashInfo) Thrashing(threshold int) bool { return threshold > 0 && t.Returns >= threshold }

// Verdict is a policy's answer for one faulting page.
type Verdict struct {
	Place Placement
	// Throttle records that the page is being throttled for thrashing (it
	// is mapped remotely for the rest of this launch). Counted.
	Throttle bool
	// PinFor pins the page to the host for this much simulated time
	// (mapped remotely; the page stops migrating). Counted.
	PinFor time.Duration
}

// Chunk is one 2 MiB chunk of device memory as seen by a policy choosing an
// eviction victim: the VA block it backs, how many of the block's pages
// are resident, and when the device last used it (an LRU tick: the fault
// round number; larger is more recent).
type Chunk struct {
	Block    uint64
	Resident int
	LastUse  uint64
}

// Policy decides placement, prefetch and eviction for a simulated GPU.
type Policy interface {
	// Name identifies the policy in tables.
	Name() string
	// Place decides what to do with one faulting page that is not usable
	// on this device.
	Place(f FaultInfo) Verdict
	// Prefetch returns the pages of one VA block to migrate along with the
	// faulting ones (which the device migrates anyway); nil means none.
	Prefetch(b BlockState) []int
	// Victim picks the chunk to evict among candidates (never empty, sorted
	// by block address); it returns an index into candidates.
	Victim(candidates []Chunk) int
	// Evicts reports whether the device evicts when its memory is full;
	// without eviction a full device fails with ErrOutOfDeviceMemory.
	Evicts() bool
}

// PrefetchReporter is an optional interface of a Policy: Prefetches
// reports whether Prefetch can ever return a page. A policy that says it
// cannot spares the device the scan of every faulting VA block that builds
// Prefetch's BlockState (512 page-table reads per 2 MiB block and batch).
type PrefetchReporter interface {
	Prefetches() bool
}

// prefetches reports whether p may prefetch (true unless it says not).
func prefetches(p Policy) bool {
	r, ok := p.(PrefetchReporter)
	return !ok || r.Prefetches()
}

// UVM is the policy family modelled on NVIDIA UVM's defaults (the
// nvidia-uvm module parameters named at each default below): demand migration of private memory, an optional density
// prefetcher over each 2 MiB block, thrashing mitigation by throttling and
// then pinning, read duplication of read-mostly ranges, and LRU eviction
// of 2 MiB chunks. Its zero value is pure demand paging with eviction and
// nothing else; set the fields to turn features on.
type UVM struct {
	// Label names the policy in tables ("uvm", "demand", ...).
	Label string
	// PrefetchThreshold is the density threshold in percent (UVM's
	// uvm_perf_prefetch_threshold, 51); 0 disables the prefetcher.
	PrefetchThreshold int
	// Thrashing mitigation: a page that returned ThrashThreshold times in a
	// row, each within the detector's lapse, is throttled (mapped remotely
	// for the rest of the launch); after PinAfter throttles it is pinned to
	// the host for PinTime. The detector (ThrashEvents, the prefetcher's
	// thrashing pages) uses the same threshold; ThrashThreshold 0 disables
	// mitigation, and detection then counts at DefaultThrashThreshold.
	ThrashThreshold int
	PinAfter        int
	PinTime         time.Duration
	// ReadDuplication gives read faults on read-mostly ranges a duplicate.
	ReadDuplication bool
	// NoEviction makes a full device fail instead of evicting.
	NoEviction bool
}

// Defaults of the policy parameters: the nvidia-uvm module parameters of
// the same names (uvm_perf_prefetch_threshold, uvm_perf_thrashing_*).
const (
	// DefaultPrefetchThreshold is uvm_perf_prefetch_threshold (51 %).
	DefaultPrefetchThreshold = 51
	// DefaultThrashLapse is uvm_perf_thrashing_lapse_usec (500 µs): two
	// migrations of a page closer than this count as a quick return.
	DefaultThrashLapse = 500 * time.Microsecond
	// DefaultThrashThreshold is uvm_perf_thrashing_threshold (3).
	DefaultThrashThreshold = 3
	// DefaultPinAfter is uvm_perf_thrashing_max_resets' role in svmrt: pin a
	// page after this many throttles (UVM's thrashing heuristics pin after 10).
	DefaultPinAfter = 10
	// DefaultPinTime is uvm_perf_thrashing_pin (300 ms).
	DefaultPinTime = 300 * time.Millisecond
)

// Name implements Policy.
func (p *UVM) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "uvm-custom"
}

// Evicts implements Policy.
func (p *UVM) Evicts() bool { return !p.NoEviction }

// Place implements Policy.
func (p *UVM) Place(f FaultInfo) Verdict {
	a := f.Advice
	switch {
	case a.Preferred == svm.LocationHost:
		// Preferred on the host: the device maps it remotely (UVM does so
		// when the preferred location is another processor it can map).
		return Verdict{Place: MapRemote}
	case a.ReadMostly && p.ReadDuplication && !f.Write:
		return Verdict{Place: Duplicate}
	case f.PreferredHere:
		return Verdict{Place: Migrate} // never throttled away from its home
	}
	if f.Thrash.PinnedUntil > f.Now {
		return Verdict{Place: MapRemote}
	}
	if f.Thrash.Thrashing(p.ThrashThreshold) {
		if p.PinAfter > 0 && f.Thrash.Throttles+1 >= p.PinAfter {
			return Verdict{Place: MapRemote, Throttle: true, PinFor: p.PinTime}
		}
		return Verdict{Place: MapRemote, Throttle: true}
	}
	return Verdict{Place: Migrate}
}

// Prefetches implements PrefetchReporter: only with a density threshold.
func (p *UVM) Prefetches() bool { return p.PrefetchThreshold > 0 }

// Prefetch implements Policy: UVM's density prefetcher (see
// DensityPrefetch), with faults grown to their 64 KiB big page.
func (p *UVM) Prefetch(b BlockState) []int {
	if p.PrefetchThreshold <= 0 {
		return nil
	}
	grain := b.BigPage
	if grain <= 0 {
		grain = DefaultBigPageSize / DefaultPageSize
	}
	return DensityPrefetch(b, p.PrefetchThreshold, grain)
}

// BlockState is one VA block as the prefetcher sees it, one entry per page.
type BlockState struct {
	// BigPage is the number of pages in a big page (CostModel.BigPageSize
	// over PageSize), the grain faults grow to; 0 means the default.
	BigPage   int
	Faulted   []bool // faulting in this batch (migrating anyway)
	Resident  []bool // already resident on the device
	Eligible  []bool // may be prefetched: host page inside the launch's named ranges, migratable, not pinned
	Thrashing []bool // the thrashing detector flags the page
}

// DensityPrefetch is UVM's tree-based density prefetcher on one VA block
// (nvidia-uvm's uvm_perf_prefetch.c):
//
//  1. Fault granularity grows: a faulting page that is not thrashing counts
//     its whole big page (grain pages, aligned) as occupied, and those pages
//     come along (UVM's grow_fault_granularity).
//  2. The block is a complete binary tree of aligned regions (1, 2, 4, …
//     pages up to the block). For every faulting page, the largest region
//     around it whose occupancy — resident, faulting and grown pages over
//     all its pages — exceeds threshold percent is pulled in whole.
//
// It returns the eligible pages to add, ascending. The block size must be
// a power of two (nil otherwise).
func DensityPrefetch(b BlockState, threshold, grain int) []int {
	n := len(b.Faulted)
	if n == 0 || n&(n-1) != 0 || len(b.Resident) != n || len(b.Eligible) != n {
		return nil
	}
	thrashing := func(i int) bool { return b.Thrashing != nil && b.Thrashing[i] }
	occupied := make([]bool, n)
	add := make([]bool, n)
	for i := range occupied {
		occupied[i] = b.Faulted[i] || b.Resident[i]
	}
	if grain > 1 && grain <= n {
		for i, f := range b.Faulted {
			if !f || thrashing(i) {
				continue
			}
			lo := i / grain * grain
			for j := lo; j < lo+grain; j++ {
				if !occupied[j] && b.Eligible[j] {
					occupied[j], add[j] = true, true
				}
			}
		}
	}
	// counts[level][i]: occupied pages in region i of size 1<<level.
	levels := 0
	for 1<<levels < n {
		levels++
	}
	counts := make([][]int, levels+1)
	counts[0] = make([]int, n)
	for i, o := range occupied {
		if o {
			counts[0][i] = 1
		}
	}
	for l := 1; l <= levels; l++ {
		counts[l] = make([]int, n>>l)
		for i := range counts[l] {
			counts[l][i] = counts[l-1][2*i] + counts[l-1][2*i+1]
		}
	}
	for i, f := range b.Faulted {
		if !f {
			continue
		}
		best := -1
		for l := 1; l <= levels; l++ {
			if counts[l][i>>l]*100 > threshold<<l {
				best = l
			}
		}
		if best < 0 {
			continue
		}
		lo := (i >> best) << best
		for j := lo; j < lo+1<<best; j++ {
			if !b.Faulted[j] && !b.Resident[j] && b.Eligible[j] {
				add[j] = true
			}
		}
	}
	var out []int
	for j, a := range add {
		if a {
			out = append(out, j)
		}
	}
	return out
}

// Victim implements Policy: least recently used first; chunks with no
// resident page (nothing to write back) before any used one; ties go to the
// lower address, so the choice is deterministic.
func (p *UVM) Victim(c []Chunk) int {
	best := 0
	for i := 1; i < len(c); i++ {
		bu, iu := c[best].Resident > 0, c[i].Resident > 0
		if bu != iu {
			if !iu {
				best = i
			}
			continue
		}
		if c[i].LastUse < c[best].LastUse {
			best = i
		}
	}
	return best
}

// RemoteOnly never migrates: every device access to host memory goes over
// the link (zero-copy). Useful as a baseline.
type RemoteOnly struct{}

func (RemoteOnly) Name() string              { return "remote-only" }
func (RemoteOnly) Place(FaultInfo) Verdict   { return Verdict{Place: MapRemote} }
func (RemoteOnly) Prefetch(BlockState) []int { return nil }
func (RemoteOnly) Prefetches() bool          { return false }
func (RemoteOnly) Victim(c []Chunk) int      { return (&UVM{}).Victim(c) }
func (RemoteOnly) Evicts() bool              { return true }

// MigratesOnFault implements the optional interface MigratesOnFault
// looks for: RemoteOnly never migrates a faulting page.
func (RemoteOnly) MigratesOnFault() bool { return false }

// MigratesOnFault reports whether policy p ever migrates a page because a
// device faulted on it. Policies say no by implementing
// interface{ MigratesOnFault() bool }; the others are assumed to.
func MigratesOnFault(p Policy) bool {
	if m, ok := p.(interface{ MigratesOnFault() bool }); ok {
		return m.MigratesOnFault()
	}
	return true
}

// Policy is the device's memory policy.
func (d *Device) Policy() Policy { return d.cfg.policy }

// ThrashDetector is an optional interface of a Policy: ThrashingThreshold
// is how many quick returns in a row make a page thrashing, for the
// device's detector (0: DefaultThrashThreshold).
type ThrashDetector interface {
	ThrashingThreshold() int
}

// ThrashingThreshold implements ThrashDetector: the policy's
// ThrashThreshold (0, mitigation off, leaves detection at the default).
func (p *UVM) ThrashingThreshold() int { return p.ThrashThreshold }

// thrashThreshold is the detector's threshold under the device's policy.
func (d *Device) thrashThreshold() int {
	if t, ok := d.cfg.policy.(ThrashDetector); ok && t.ThrashingThreshold() > 0 {
		return t.ThrashingThreshold()
	}
	return DefaultThrashThreshold
}

// Named policies, for tables and command-line flags.
var namedPolicies = map[string]func() Policy{
	// demand: migrate on fault, evict LRU chunks when full; no prefetch,
	// no thrashing mitigation, no read duplication. The device's default.
	"demand": func() Policy { return &UVM{Label: "demand"} },
	// prefetch: demand + the density prefetcher.
	"prefetch": func() Policy {
		return &UVM{Label: "prefetch", PrefetchThreshold: DefaultPrefetchThreshold}
	},
	// uvm: everything on, at UVM's defaults.
	"uvm": func() Policy {
		return &UVM{Label: "uvm", PrefetchThreshold: DefaultPrefetchThreshold, ThrashThreshold: DefaultThrashThreshold,
			PinAfter: DefaultPinAfter, PinTime: DefaultPinTime, ReadDuplication: true}
	},
	// uvm-nothrash: uvm without thrashing mitigation.
	"uvm-nothrash": func() Policy {
		return &UVM{Label: "uvm-nothrash", PrefetchThreshold: DefaultPrefetchThreshold, ReadDuplication: true}
	},
	// no-evict: demand paging that fails when the device is full.
	"no-evict": func() Policy { return &UVM{Label: "no-evict", NoEviction: true} },
	// remote-only: zero-copy, nothing migrates.
	"remote-only": func() Policy { return RemoteOnly{} },
}

// PolicyNames lists the named policies, sorted.
func PolicyNames() []string {
	var names []string
	for n := range namedPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PolicyByName returns a fresh instance of a named policy.
func PolicyByName(name string) (Policy, error) {
	mk, ok := namedPolicies[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("simgpu: unknown policy %q (known: %s)", name, strings.Join(PolicyNames(), ", "))
	}
	return mk(), nil
}

// WithPolicy sets the device's memory policy (default: "demand").
func WithPolicy(p Policy) Option { return func(c *config) { c.policy = p } }

var (
	_ PrefetchReporter = (*UVM)(nil)
	_ PrefetchReporter = RemoteOnly{}
)
