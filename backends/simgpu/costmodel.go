package simgpu

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults of the cost model. Every figure comes from a published source,
// named at the constant (NVIDIA UVM's module parameters, UVMSmart's
// GPGPU-Sim configuration, Kim et al. ASPLOS'20), or is marked as a
// simulator parameter.
const (
	// DefaultFaultBatchMax is the largest number of raw fault-buffer entries
	// fetched and serviced as one batch: NVIDIA UVM's module parameter
	// uvm_perf_fault_batch_count defaults to 256.
	DefaultFaultBatchMax = 256

	// DefaultFaultGroupCost is the service cost of one fault group, a distinct
	// 2 MiB VA block among the pages of a batch (see FaultGroups for why the
	// group is the VA block and not the 64 KiB big page). UVMSmart
	// (gpgpu-sim_UVMSmart, gpu-sim.cc) charges a far fault
	// -page_fault_latency = 66645 core cycles, and its GeForce GTX 1080 Ti
	// configuration clocks the core at 1481 MHz: 66645 / 1481 MHz = 45.0 µs.
	DefaultFaultGroupCost = 45 * time.Microsecond

	// DefaultFaultServiceBase is the fixed cost of one batch: fetching the
	// entries from the fault buffer, preprocessing (sort, deduplicate), and
	// issuing the replay. Kim et al. (ASPLOS'20) report fault batches taking
	// 223–553 µs with a median of 313 µs. With 45 µs per group, a base of
	// 178 µs makes a one-group batch cost exactly the published minimum
	// (178+45 = 223 µs) and a three-group batch exactly the published median
	// (178+3·45 = 313 µs); the published maximum (553 µs) then corresponds to
	// about eight distinct VA blocks in one batch.
	DefaultFaultServiceBase = 178 * time.Microsecond

	// DefaultPCIeGen selects the UVMSmart transfer curve a = 12 (PCIe 3.0
	// x16, UVMSmart's default -pcie_bandwidth 16.0GB/s). The fault and walk
	// latencies above come from UVMSmart's GTX 1080 Ti configuration, which
	// models a PCIe 3.0 x16 link (16 lanes at 8.0 GT/s), so gen 3 keeps the
	// ratio of fault cost to transfer cost of that calibration. Set 4 or 5
	// (a = 24 or 48) to model a newer link, e.g. an H100-class card.
	DefaultPCIeGen = 3

	// DefaultVABlockSize is UVM_VA_BLOCK_SIZE (2 MiB), the unit in which the
	// NVIDIA UVM driver tracks residency and services faults.
	DefaultVABlockSize = 2 << 20

	// DefaultBigPageSize is UVM_BIG_PAGE_SIZE (64 KiB).
	DefaultBigPageSize = 64 << 10

	// DefaultPageSize is the 4 KiB host page size (x86-64 base page), the
	// granule of faults and migrations.
	DefaultPageSize = 4096

	// DefaultHBMBandwidth is device-memory bandwidth in bytes/s: ~3 TB/s,
	// the vendor figure for an H100-class GPU.
	DefaultHBMBandwidth = 3e12

	// DefaultPeakFLOPS is FP32 peak in FLOP/s: ~60 TFLOP/s, the vendor
	// figure for an H100-class GPU.
	DefaultPeakFLOPS = 60e12

	// DefaultRemoteAccessLatency is the cost of one device access to host
	// memory over PCIe (zero-copy, no migration). UVMSmart charges such a
	// remote (RDMA) access as a PCIe transfer of the access size on the same
	// atan curve (gmmu_t::get_ready_cycle_rdma). For small sizes atan(x) ≈ x,
	// so the time tends to the constant π·1024 / (2·a·0.07292·2^30) s, which
	// for a = 12 (PCIe 3.0) is 1.712 µs — the same for a 4-byte load as for
	// a 128-byte transaction. TestRemoteAccessLatencyMatchesCurve checks that
	// this constant equals TransferTime(128) at gen 3. The order of magnitude
	// (a microsecond) matches measured PCIe DMA read round trips
	// (Neugebauer et al., "Understanding PCIe performance for end host
	// networking", SIGCOMM'18). It does not follow PCIeGen automatically.
	DefaultRemoteAccessLatency = 1712 * time.Nanosecond

	// DefaultTLBHitCost is zero: a GPU L1 TLB is looked up in parallel with
	// the L1 cache access (the cache-parallel translation organisation
	// studied by Pichai, Hsu and Bhattacharjee, "Architectural Support for
	// Address Translation on GPUs", ASPLOS'14), so a hit adds no time beyond
	// the memory access already charged by the bandwidth term of
	// ComputeTime. Hits are still counted.
	DefaultTLBHitCost = 0 * time.Nanosecond

	// DefaultTLBMissCost is one page-table walk: UVMSmart's
	// -page_table_walk_latency is 100 core cycles for 4 KiB pages
	// (GTX 1080 Ti configuration), 100 / 1481 MHz = 67.5 ns, rounded up.
	DefaultTLBMissCost = 68 * time.Nanosecond

	// DefaultSMCount is the number of SMs. It is a simulator parameter, not
	// a published figure: a wave is as many work-groups as the SMs hold at
	// once (SMCount × Resident); the scheduler executes them, collects their
	// faults, and charges the wave once. It also divides the latency term of
	// ComputeTime, because the SMs run in parallel and their stalls overlap.
	DefaultSMCount = 16

	// DefaultThreadsPerSM is how many work-items one SM holds at once: 2048
	// resident threads per SM on NVIDIA's Pascal, Volta and Ampere
	// (CUDA C++ Programming Guide, "Technical Specifications per Compute
	// Capability": maximum number of resident threads per SM).
	DefaultThreadsPerSM = 2048

	// DefaultGroupsPerSM is how many work-groups one SM holds at once, at
	// most: 32 resident blocks per SM on the same GPUs (same table).
	DefaultGroupsPerSM = 32

	// DefaultLocalMemoryPerSM is the local memory the resident work-groups
	// of one SM share: 64 KiB, the shared memory per SM of Pascal's GP100
	// and as much as one work-group may use here (DefaultLocalMemory), so a
	// group that uses it all runs alone.
	DefaultLocalMemoryPerSM = 64 << 10

	// DefaultCPUFaultCost is the service cost of one CPU fault that brings
	// device pages home, without the transfer (charged by TransferTime). It
	// is a simulator parameter set equal to one fault group's service
	// (DefaultFaultGroupCost): the UVM driver services a CPU fault on a
	// device page VA block by VA block, as it services a GPU fault group.
	// It is charged to the device's clock at its next operation, so a CPU
	// touching device pages shows in simulated time (ping-pong costs both
	// ways).
	DefaultCPUFaultCost = 45 * time.Microsecond

	// DefaultPeerPCIeGen is the link between two simulated GPUs: peer-to-
	// peer over the same PCIe generation (0 = PCIeGen). A page moving from
	// one device to another is charged one transfer on this link instead of
	// a device→host plus a host→device transfer.
	DefaultPeerPCIeGen = 0
)

// PCIe transfer curve of UVMSmart's calculate_transfer_time (gmmu_t::
// get_ready_cycle): bandwidth(GiB/s) = (2a/π)·atan(b·sizeKiB). UVMSmart
// converts with 1024·1024·1024, so the bandwidth unit is GiB/s and the curve
// saturates at a GiB/s.
const pcieCurveB = 0.07292

// ErrInvalidCostModel is wrapped by every error CostModel.Validate returns.
var ErrInvalidCostModel = errors.New("simgpu: invalid cost model")

// CostModel turns what the simulated GPU did (bytes moved, faults serviced,
// translations) into simulated nanoseconds. It is a plain value: copy it,
// change fields, call Validate.
//
// Every method returns integer nanoseconds computed deterministically: the
// same model and the same arguments give the same time.Duration on every
// machine (see TransferTime for how the one transcendental function is kept
// bit-identical across platforms).
type CostModel struct {
	// FaultBatchMax is the largest number of raw fault entries serviced per
	// batch (DefaultFaultBatchMax).
	FaultBatchMax int
	// FaultServiceBase is the fixed cost of servicing one batch
	// (DefaultFaultServiceBase).
	FaultServiceBase time.Duration
	// FaultGroupCost is the cost of each distinct VA block in a batch
	// (DefaultFaultGroupCost).
	FaultGroupCost time.Duration
	// PCIeGen is 3, 4 or 5, selecting a = 12, 24 or 48 GiB/s in the transfer
	// curve (DefaultPCIeGen).
	PCIeGen int
	// VABlockSize is the fault-group granule in bytes (DefaultVABlockSize).
	VABlockSize int
	// BigPageSize is the big-page size in bytes (DefaultBigPageSize).
	BigPageSize int
	// PageSize is the base page size in bytes (DefaultPageSize).
	PageSize int
	// HBMBandwidth is device-memory bandwidth in bytes/s
	// (DefaultHBMBandwidth).
	HBMBandwidth float64
	// PeakFLOPS is peak arithmetic throughput in FLOP/s (DefaultPeakFLOPS).
	PeakFLOPS float64
	// RemoteAccessLatency is the cost of one device access to host memory
	// over PCIe (DefaultRemoteAccessLatency).
	RemoteAccessLatency time.Duration
	// TLBHitCost is the cost of one device TLB hit (DefaultTLBHitCost).
	TLBHitCost time.Duration
	// TLBMissCost is the cost of one page-table walk (DefaultTLBMissCost).
	TLBMissCost time.Duration
	// SMCount is the number of SMs (DefaultSMCount).
	SMCount int
	// ThreadsPerSM, GroupsPerSM and LocalMemoryPerSM bound how many
	// work-groups one SM holds at once (Resident; DefaultThreadsPerSM,
	// DefaultGroupsPerSM, DefaultLocalMemoryPerSM).
	ThreadsPerSM     int
	GroupsPerSM      int
	LocalMemoryPerSM int
	// CPUFaultCost is the service cost of one CPU fault on device pages
	// (DefaultCPUFaultCost); 0 charges nothing for CPU faults.
	CPUFaultCost time.Duration
	// PeerPCIeGen is the device-to-device link (3, 4 or 5; 0 = PCIeGen).
	PeerPCIeGen int
}

// DefaultCostModel returns the model with every field at its documented
// default.
func DefaultCostModel() CostModel {
	return CostModel{
		FaultBatchMax:       DefaultFaultBatchMax,
		FaultServiceBase:    DefaultFaultServiceBase,
		FaultGroupCost:      DefaultFaultGroupCost,
		PCIeGen:             DefaultPCIeGen,
		VABlockSize:         DefaultVABlockSize,
		BigPageSize:         DefaultBigPageSize,
		PageSize:            DefaultPageSize,
		HBMBandwidth:        DefaultHBMBandwidth,
		PeakFLOPS:           DefaultPeakFLOPS,
		RemoteAccessLatency: DefaultRemoteAccessLatency,
		TLBHitCost:          DefaultTLBHitCost,
		TLBMissCost:         DefaultTLBMissCost,
		SMCount:             DefaultSMCount,
		ThreadsPerSM:        DefaultThreadsPerSM,
		GroupsPerSM:         DefaultGroupsPerSM,
		LocalMemoryPerSM:    DefaultLocalMemoryPerSM,
		CPUFaultCost:        DefaultCPUFaultCost,
		PeerPCIeGen:         DefaultPeerPCIeGen,
	}
}

// Validate reports every field that makes no sense, joined into one error;
// each part wraps ErrInvalidCostModel. It returns nil for a usable model.
func (c CostModel) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidCostModel}, args...)...))
	}
	if c.FaultBatchMax < 1 {
		bad("FaultBatchMax = %d, want at least 1 (UVM default 256)", c.FaultBatchMax)
	}
	if c.FaultServiceBase < 0 {
		bad("FaultServiceBase = %v is negative", c.FaultServiceBase)
	}
	if c.FaultGroupCost < 0 {
		bad("FaultGroupCost = %v is negative", c.FaultGroupCost)
	}
	if _, ok := pcieCurveA(c.PCIeGen); !ok {
		bad("PCIeGen = %d, want 3, 4 or 5", c.PCIeGen)
	}
	sizesOK := true
	for _, s := range []struct {
		name string
		v    int
	}{{"PageSize", c.PageSize}, {"BigPageSize", c.BigPageSize}, {"VABlockSize", c.VABlockSize}} {
		if s.v <= 0 || s.v&(s.v-1) != 0 {
			bad("%s = %d, want a positive power of two", s.name, s.v)
			sizesOK = false
		}
	}
	if sizesOK && !(c.PageSize <= c.BigPageSize && c.BigPageSize <= c.VABlockSize) {
		bad("sizes out of order: PageSize %d <= BigPageSize %d <= VABlockSize %d does not hold",
			c.PageSize, c.BigPageSize, c.VABlockSize)
	}
	if !(c.HBMBandwidth > 0) || math.IsInf(c.HBMBandwidth, 0) {
		bad("HBMBandwidth = %g bytes/s, want a positive finite number", c.HBMBandwidth)
	}
	if !(c.PeakFLOPS > 0) || math.IsInf(c.PeakFLOPS, 0) {
		bad("PeakFLOPS = %g FLOP/s, want a positive finite number", c.PeakFLOPS)
	}
	if c.RemoteAccessLatency < 0 {
		bad("RemoteAccessLatency = %v is negative", c.RemoteAccessLatency)
	}
	if c.TLBHitCost < 0 {
		bad("TLBHitCost = %v is negative", c.TLBHitCost)
	}
	if c.TLBMissCost < 0 {
		bad("TLBMissCost = %v is negative", c.TLBMissCost)
	}
	if c.SMCount < 1 {
		bad("SMCount = %d, want at least 1", c.SMCount)
	}
	if c.ThreadsPerSM < 1 {
		bad("ThreadsPerSM = %d, want at least 1 (NVIDIA: 2048)", c.ThreadsPerSM)
	}
	if c.GroupsPerSM < 1 {
		bad("GroupsPerSM = %d, want at least 1 (NVIDIA: 32)", c.GroupsPerSM)
	}
	if c.LocalMemoryPerSM < 0 {
		bad("LocalMemoryPerSM = %d is negative", c.LocalMemoryPerSM)
	}
	if c.CPUFaultCost < 0 {
		bad("CPUFaultCost = %v is negative", c.CPUFaultCost)
	}
	if _, ok := pcieCurveA(c.PeerPCIeGen); !ok && c.PeerPCIeGen != 0 {
		bad("PeerPCIeGen = %d, want 0 (same as PCIeGen), 3, 4 or 5", c.PeerPCIeGen)
	}
	return errors.Join(errs...)
}

// pcieCurveA maps a PCIe generation to UVMSmart's curve_a (the saturation
// bandwidth in GiB/s of an x16 link): 16, 32 and 64 GB/s links give 12, 24
// and 48 (gpgpu_sim_config::convert_byte_string).
func pcieCurveA(gen int) (float64, bool) {
	switch gen {
	case 3:
		return 12, true
	case 4:
		return 24, true
	case 5:
		return 48, true
	}
	return 0, false
}

// TransferTime is the time of one contiguous DMA of the given size over PCIe,
// following UVMSmart's calculate_transfer_time: the achieved bandwidth is
// BW = (2a/π)·atan(0.07292·size/1024) GiB/s (a from PCIeGen), and the time is
// bytes/BW. Small transfers are latency-bound (about 1.7 µs at gen 3 however
// small), large ones approach a GiB/s. The result is rounded to the nearest
// nanosecond and is at least 1 ns for bytes > 0; it is 0 for bytes <= 0.
//
// Determinism: the arctangent is computed by costAtan, which uses only
// correctly rounded IEEE operations (+, −, ×, ÷, sqrt) with explicit
// conversions that forbid fused multiply-add, so the result is bit-identical
// on every architecture (math.Atan is not: s390x has an assembly version and
// arm64/ppc64 may fuse its polynomial). UVMSmart computes in float32; this
// uses float64.
//
// It panics if PCIeGen is not 3, 4 or 5 (Validate reports that).
func (c CostModel) TransferTime(bytes int) time.Duration {
	if bytes <= 0 {
		return 0
	}
	a, ok := pcieCurveA(c.PCIeGen)
	if !ok {
		panic(fmt.Sprintf("simgpu: CostModel.TransferTime: PCIeGen = %d, want 3, 4 or 5", c.PCIeGen))
	}
	sizeKiB := float64(bytes) / 1024
	gibps := float64(2*a/math.Pi) * costAtan(float64(pcieCurveB*sizeKiB))
	bytesPerSec := float64(gibps * (1 << 30))
	d := costRoundNs(float64(float64(bytes)*1e9) / bytesPerSec)
	if d < 1 {
		d = 1
	}
	return d
}

// PeerTransferTime is the time of one contiguous device-to-device DMA of the
// given size on the peer link (TransferTime's curve at PeerPCIeGen).
func (c CostModel) PeerTransferTime(bytes int) time.Duration {
	if c.PeerPCIeGen != 0 {
		c.PCIeGen = c.PeerPCIeGen
	}
	return c.TransferTime(bytes)
}

// FaultGroups returns the number of fault groups among the given page
// addresses: the number of distinct VA blocks (VABlockSize, 2 MiB by default)
// they fall in. Duplicated addresses count once.
//
// Why the 2 MiB VA block and not the 64 KiB big page: the NVIDIA UVM driver
// services a fetched batch VA block by VA block — each block with faults is
// locked once, its residency updated once and its pages copied with one set
// of DMA operations — so the work per batch beyond the fixed fetch and
// preprocessing grows with the number of distinct VA blocks. Calibrated that
// way, the published range of 223–553 µs per batch corresponds to 1–8 blocks
// per batch. With 64 KiB groups a batch of 256 scattered 4 KiB faults could
// form 256 groups and cost 11.7 ms, far outside every published measurement.
//
// The addresses are expected sorted ascending (as Batches produces them);
// unsorted input is accepted and gives the same count, at the cost of a
// sorted copy.
func (c CostModel) FaultGroups(sortedPages []uint64) int {
	block := uint64(c.VABlockSize)
	if block == 0 {
		block = 1
	}
	if !slices.IsSorted(sortedPages) {
		sortedPages = slices.Sorted(slices.Values(sortedPages))
	}
	groups := 0
	var last uint64
	for i, p := range sortedPages {
		b := p / block
		if i == 0 || b != last {
			groups++
			last = b
		}
	}
	return groups
}

// BatchServiceTime is the cost of servicing one deduplicated fault batch:
// FaultServiceBase + FaultGroups(sortedPages)·FaultGroupCost. Data transfers
// are not included; charge them separately with TransferTime. An empty batch
// costs nothing. Pass the pages that actually needed service (a page already
// made resident by an earlier batch is skipped by the scheduler and should
// not be charged again).
func (c CostModel) BatchServiceTime(sortedPages []uint64) time.Duration {
	groups := c.FaultGroups(sortedPages)
	if groups == 0 {
		return 0
	}
	return costSatAdd(c.FaultServiceBase, costSatMul(int64(groups), c.FaultGroupCost))
}

// Resident is how many work-groups of groupSize work-items, each using
// localBytes of local memory, one SM holds at once: as many as its threads,
// its group slots and its local memory allow, and always at least one (a
// launch checks a group's size and local memory against the device's
// limits before it runs). A wave is SMCount × Resident work-groups.
func (c CostModel) Resident(groupSize, localBytes int) int {
	n := c.GroupsPerSM
	if groupSize > 0 {
		n = min(n, c.ThreadsPerSM/groupSize)
	}
	if localBytes > 0 {
		n = min(n, c.LocalMemoryPerSM/localBytes)
	}
	return max(n, 1)
}

// ComputeTime is the time of one wave, given what the wave did in total over
// all its work-items:
//
//	roofline = max(bytes / HBMBandwidth, flops / PeakFLOPS)   (each rounded up to a ns)
//	stalls   = tlbHits·TLBHitCost + tlbMisses·TLBMissCost + remoteAccesses·RemoteAccessLatency
//	time     = roofline + ceil(stalls / SMCount)
//
// bytes counts device-memory traffic, flops may be 0 when unknown. Stalls of
// the work-groups of a wave overlap because they run on different SMs; within
// a work-group they are charged one after another (a conservative bound:
// real SMs hide part of that latency with other warps). Sums saturate at the
// largest time.Duration instead of overflowing. It panics if a count is
// negative.
func (c CostModel) ComputeTime(bytes, flops, tlbHits, tlbMisses, remoteAccesses int64) time.Duration {
	if bytes < 0 || flops < 0 || tlbHits < 0 || tlbMisses < 0 || remoteAccesses < 0 {
		panic(fmt.Sprintf("simgpu: CostModel.ComputeTime: negative count (bytes=%d flops=%d hits=%d misses=%d remote=%d)",
			bytes, flops, tlbHits, tlbMisses, remoteAccesses))
	}
	var mem, arith time.Duration
	if bytes > 0 {
		mem = costCeilNs(float64(float64(bytes)*1e9) / c.HBMBandwidth)
	}
	if flops > 0 {
		arith = costCeilNs(float64(float64(flops)*1e9) / c.PeakFLOPS)
	}
	roof := max(mem, arith)

	stalls := costSatAdd(costSatMul(tlbHits, c.TLBHitCost), costSatMul(tlbMisses, c.TLBMissCost))
	stalls = costSatAdd(stalls, costSatMul(remoteAccesses, c.RemoteAccessLatency))
	if overlap := time.Duration(max(c.SMCount, 1)); stalls > 0 && stalls < math.MaxInt64 {
		stalls = (stalls + overlap - 1) / overlap
	}
	return costSatAdd(roof, stalls)
}

// costAtanTerms are the coefficients 1/(2k+1) of the arctangent series.
var costAtanTerms = func() (c [13]float64) {
	for k := range c {
		c[k] = 1 / float64(2*k+1)
	}
	return c
}()

// costAtan is a platform-independent arctangent: every operation is a single
// correctly rounded IEEE-754 operation and every product is wrapped in an
// explicit float64 conversion, which the Go spec says prevents fusing it into
// a multiply-add. Accuracy is a few ulp (tested against math.Atan).
//
// Method: reduce x > 1 with atan(x) = π/2 − atan(1/x); halve the angle twice
// with atan(x) = 2·atan(x / (1 + sqrt(1 + x²))), leaving |t| <= tan(π/16) ≈
// 0.199; sum the Taylor series t − t³/3 + t⁵/5 − … to 13 terms (the first
// omitted term is below 1e-19 relative).
func costAtan(x float64) float64 {
	if math.IsNaN(x) {
		return x
	}
	if x < 0 {
		return -costAtan(-x)
	}
	invert := x > 1
	if invert {
		x = 1 / x // +Inf becomes 0, giving π/2 below
	}
	for range 2 {
		x = x / (1 + math.Sqrt(1+float64(x*x)))
	}
	u := float64(x * x)
	s := costAtanTerms[len(costAtanTerms)-1]
	for k := len(costAtanTerms) - 2; k >= 0; k-- {
		s = costAtanTerms[k] - float64(u*s)
	}
	r := float64(4 * float64(x*s)) // rounded here, so π/2 − r cannot fuse
	if invert {
		r = math.Pi/2 - r
	}
	return r
}

// costRoundNs converts nanoseconds to a Duration, rounding half away from
// zero and saturating; NaN and negative values give 0.
func costRoundNs(ns float64) time.Duration {
	return costFloatNs(math.Round(ns))
}

// costCeilNs converts nanoseconds to a Duration, rounding up and saturating;
// NaN and negative values give 0.
func costCeilNs(ns float64) time.Duration {
	return costFloatNs(math.Ceil(ns))
}

func costFloatNs(ns float64) time.Duration {
	switch {
	case !(ns > 0): // negative, zero or NaN
		return 0
	case ns >= math.MaxInt64: // float64(MaxInt64) is 2^63, itself out of range
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// costSatAdd adds two non-negative durations, saturating at the maximum.
func costSatAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// costSatMul multiplies a non-negative count by a non-negative duration,
// saturating at the maximum.
func costSatMul(n int64, d time.Duration) time.Duration {
	if n == 0 || d == 0 {
		return 0
	}
	if n > int64(math.MaxInt64/d) {
		return math.MaxInt64
	}
	return time.Duration(n) * d
}
