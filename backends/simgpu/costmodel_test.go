package simgpu

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultCostModelIsValid(t *testing.T) {
	if err := DefaultCostModel().Validate(); err != nil {
		t.Fatalf("DefaultCostModel().Validate() = %v", err)
	}
}

// TestDefaultsFollowTheirSources re-derives the defaults from the published
// numbers quoted in their comments.
func TestDefaultsFollowTheirSources(t *testing.T) {
	const uvmSmartCoreMHz = 1481 // configs/GeForceGTX1080Ti: -gpgpu_clock_domains 1481.0:...
	// -page_fault_latency 66645 core cycles.
	if got := time.Duration(66645 * 1000 / uvmSmartCoreMHz); got != DefaultFaultGroupCost {
		t.Errorf("66645 cycles at %d MHz = %v, DefaultFaultGroupCost = %v", uvmSmartCoreMHz, got, DefaultFaultGroupCost)
	}
	if 66645%uvmSmartCoreMHz != 0 {
		t.Errorf("66645 cycles is not a whole number of µs at %d MHz", uvmSmartCoreMHz)
	}
	// -page_table_walk_latency 100 core cycles, rounded up to a ns.
	walk := time.Duration((100*1000 + uvmSmartCoreMHz - 1) / uvmSmartCoreMHz)
	if walk != DefaultTLBMissCost {
		t.Errorf("100 cycles at %d MHz rounds up to %v, DefaultTLBMissCost = %v", uvmSmartCoreMHz, walk, DefaultTLBMissCost)
	}
	// Kim et al.: batches 223–553 µs, median 313 µs.
	if got := DefaultFaultServiceBase + DefaultFaultGroupCost; got != 223*time.Microsecond {
		t.Errorf("one-group batch = %v, want the published minimum 223µs", got)
	}
	if got := DefaultFaultServiceBase + 3*DefaultFaultGroupCost; got != 313*time.Microsecond {
		t.Errorf("three-group batch = %v, want the published median 313µs", got)
	}
	if DefaultFaultBatchMax != 256 {
		t.Errorf("DefaultFaultBatchMax = %d, want uvm_perf_fault_batch_count 256", DefaultFaultBatchMax)
	}
	if DefaultVABlockSize != 2<<20 || DefaultBigPageSize != 64<<10 || DefaultPageSize != 4096 {
		t.Errorf("sizes = %d/%d/%d, want 2 MiB / 64 KiB / 4 KiB", DefaultVABlockSize, DefaultBigPageSize, DefaultPageSize)
	}
}

// TestRemoteAccessLatencyMatchesCurve checks the derivation of
// DefaultRemoteAccessLatency: UVMSmart's curve at gen 3 for one small access.
func TestRemoteAccessLatencyMatchesCurve(t *testing.T) {
	c := DefaultCostModel()
	c.PCIeGen = 3
	for _, size := range []int{4, 8, 128} {
		if got := c.TransferTime(size); got != DefaultRemoteAccessLatency {
			t.Errorf("gen3 TransferTime(%d) = %v, DefaultRemoteAccessLatency = %v", size, got, DefaultRemoteAccessLatency)
		}
	}
	// The closed form of the small-size limit: π·1024 / (2·a·b·2^30) s.
	limit := math.Pi * 1024 / (2 * 12 * pcieCurveB * (1 << 30)) * 1e9
	if got := time.Duration(math.Round(limit)); got != DefaultRemoteAccessLatency {
		t.Errorf("small-transfer limit = %.3f ns, DefaultRemoteAccessLatency = %v", limit, DefaultRemoteAccessLatency)
	}
}

// TestTransferTimeFormula compares with values computed by hand from
// BW = (2a/π)·atan(0.07292·KiB) GiB/s, t = bytes / (BW·2^30) s. For example
// gen 3, 4 KiB: atan(0.29168) = 0.283863, BW = (24/π)·0.283863 = 2.16812
// GiB/s, t = 4096 / (2.16812·2^30) s = 1759.45 ns.
func TestTransferTimeFormula(t *testing.T) {
	tests := []struct {
		gen   int
		bytes int
		want  time.Duration
	}{
		// a = 12
		{3, 1, 1712},              // 1711.954 ns: latency floor
		{3, 128, 1712},            // 1712.001
		{3, 4 << 10, 1759},        // 1759.448, BW 2.168 GiB/s
		{3, 64 << 10, 5876},       // 5875.863, BW 10.387 GiB/s
		{3, 2 << 20, 163457},      // 163457.205, BW 11.949 GiB/s
		{3, 64 << 20, 5209027},    // 5209027.255, BW 11.998 GiB/s
		{4, 4 << 10, 880},         // 879.724
		{4, 64 << 10, 2938},       // 2937.931
		{4, 2 << 20, 81729},       // 81728.603
		{5, 4 << 10, 440},         // 439.862
		{5, 64 << 10, 1469},       // 1468.966
		{5, 2 << 20, 40864},       // 40864.301
		{5, 64 << 20, 1302257},    // 1302256.814
		{3, 0, 0},                 // nothing to move
		{3, -5, 0},                // nonsense size
		{5, 1 << 40, 21333333507}, // 1 TiB, nearly saturated at 48 GiB/s: 2^40/(48·2^30) s = 21.33 s
	}
	for _, tt := range tests {
		c := DefaultCostModel()
		c.PCIeGen = tt.gen
		if got := c.TransferTime(tt.bytes); got != tt.want {
			t.Errorf("gen%d TransferTime(%d) = %d ns, want %d ns", tt.gen, tt.bytes, got, tt.want)
		}
	}
}

func TestTransferTimeMonotonic(t *testing.T) {
	for _, gen := range []int{3, 4, 5} {
		c := DefaultCostModel()
		c.PCIeGen = gen
		prev := time.Duration(0)
		prevBW := 0.0
		for n := 1; n <= 8<<20; n += 1 + n/64 {
			d := c.TransferTime(n)
			if d < prev {
				t.Fatalf("gen%d: TransferTime(%d) = %v < %v for a smaller size", gen, n, d, prev)
			}
			if d < 1 {
				t.Fatalf("gen%d: TransferTime(%d) = %v, want at least 1ns", gen, n, d)
			}
			prev = d
			// Achieved bandwidth grows with size (up to the 1 ns rounding).
			bw := float64(n) / float64(d+1)
			if n > 1<<16 && bw < prevBW*0.999 {
				t.Fatalf("gen%d: bandwidth at %d bytes %.4g B/ns < %.4g at a smaller size", gen, n, bw, prevBW)
			}
			prevBW = max(prevBW, bw)
		}
	}
	// A faster link is faster at every size.
	for _, n := range []int{1, 4096, 65536, 2 << 20} {
		c3, c4, c5 := DefaultCostModel(), DefaultCostModel(), DefaultCostModel()
		c3.PCIeGen, c4.PCIeGen, c5.PCIeGen = 3, 4, 5
		if !(c3.TransferTime(n) > c4.TransferTime(n) && c4.TransferTime(n) > c5.TransferTime(n)) {
			t.Errorf("size %d: gen3 %v, gen4 %v, gen5 %v not decreasing", n, c3.TransferTime(n), c4.TransferTime(n), c5.TransferTime(n))
		}
	}
	// One 2 MiB DMA beats 512 separate 4 KiB ones by far: why UVM batches.
	c := DefaultCostModel()
	if one, many := c.TransferTime(2<<20), 512*c.TransferTime(4096); one*5 > many {
		t.Errorf("2 MiB in one DMA %v, in 512 DMAs %v: expected a >5x gap", one, many)
	}
}

func TestTransferTimeDeterministic(t *testing.T) {
	c := DefaultCostModel()
	var first []time.Duration
	for round := range 3 {
		var got []time.Duration
		for n := 1; n < 1<<26; n = n*3 + 7 {
			got = append(got, c.TransferTime(n))
		}
		if round == 0 {
			first = got
		} else if !slices.Equal(first, got) {
			t.Fatalf("round %d differs from round 0", round)
		}
	}
}

func TestTransferTimePanicsOnBadGen(t *testing.T) {
	c := DefaultCostModel()
	c.PCIeGen = 6
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "PCIeGen") {
			t.Fatalf("recover() = %v, want a panic naming PCIeGen", r)
		}
	}()
	c.TransferTime(4096)
}

func TestCostAtanMatchesMathAtan(t *testing.T) {
	xs := []float64{0, 5e-324, 1e-300, 1e-10, 7.292e-5, 1e-3, 0.1, 0.19, 0.2, 0.29168, 0.41, 0.5,
		math.Nextafter(1, 0), 1, math.Nextafter(1, 2), 1.5, 2, 4.66688, 10, 149.3, 1e3, 1e8, 1e20, 1e300,
		math.MaxFloat64}
	for i := 1; i < 20000; i++ {
		xs = append(xs, float64(i)*0.001, float64(i)*0.37)
	}
	maxULP := 0.0
	for _, x := range xs {
		for _, v := range []float64{x, -x} {
			got, want := costAtan(v), math.Atan(v)
			if got == want {
				continue
			}
			ulp := math.Abs(got-want) / math.Abs(math.Nextafter(want, math.Inf(1))-want)
			maxULP = max(maxULP, ulp)
			if ulp > 4 {
				t.Errorf("costAtan(%g) = %.17g, math.Atan = %.17g (%.1f ulp)", v, got, want, ulp)
			}
		}
	}
	t.Logf("max difference from math.Atan: %.1f ulp", maxULP)
	if got := costAtan(math.Inf(1)); got != math.Pi/2 {
		t.Errorf("costAtan(+Inf) = %v, want π/2", got)
	}
	if got := costAtan(math.Inf(-1)); got != -math.Pi/2 {
		t.Errorf("costAtan(-Inf) = %v, want -π/2", got)
	}
	if got := costAtan(math.NaN()); !math.IsNaN(got) {
		t.Errorf("costAtan(NaN) = %v, want NaN", got)
	}
}

// TestCostAtanGoldenBits pins the exact bits of costAtan. They were
// recorded on linux/amd64; because costAtan uses only correctly rounded,
// unfused IEEE operations, every architecture must reproduce them. A failure
// here on another platform means simulated times would differ across
// machines.
func TestCostAtanGoldenBits(t *testing.T) {
	golden := []struct {
		x    float64
		bits uint64
	}{
		{7.292e-05, 0x3f131d940f057210}, // about 1 byte
		{0.29168, 0x3fd229e24e8dd63a},   // 4 KiB
		{4.66688, 0x3ff5c161bf1f1580},   // 64 KiB
		{149.34016, 0x3ff9068e0a71a56d}, // 2 MiB
		{0.5, 0x3fddac670561bb4f},
		{1, 0x3fe921fb54442d19},
		{3, 0x3ff3fc176b7a8560},
		{1e+06, 0x3ff921fa47d4b30d},
	}
	for _, g := range golden {
		if got := math.Float64bits(costAtan(g.x)); got != g.bits {
			t.Errorf("costAtan(%v) bits = %#016x, want %#016x", g.x, got, g.bits)
		}
	}
}

func TestFaultGroups(t *testing.T) {
	c := DefaultCostModel()
	const blk = 2 << 20
	base := uint64(0x7f12_3440_0000) // 2 MiB aligned
	tests := []struct {
		name  string
		pages []uint64
		want  int
	}{
		{"empty", nil, 0},
		{"one page", []uint64{base}, 1},
		{"one block", []uint64{base, base + 4096, base + blk - 4096}, 1},
		{"duplicates", []uint64{base, base, base + 4096, base + 4096}, 1},
		{"block boundary", []uint64{base + blk - 4096, base + blk}, 2},
		{"three blocks", []uint64{base, base + blk, base + 5*blk}, 3},
		{"unsorted", []uint64{base + 5*blk, base, base + blk, base}, 3},
	}
	for _, tt := range tests {
		if got := c.FaultGroups(tt.pages); got != tt.want {
			t.Errorf("%s: FaultGroups = %d, want %d", tt.name, got, tt.want)
		}
	}
	// The input must not be reordered.
	in := []uint64{3 * blk, blk, 2 * blk}
	c.FaultGroups(in)
	if !slices.Equal(in, []uint64{3 * blk, blk, 2 * blk}) {
		t.Errorf("FaultGroups modified its input: %v", in)
	}
	c.VABlockSize = 64 << 10
	if got := c.FaultGroups([]uint64{base, base + 64<<10, base + 128<<10}); got != 3 {
		t.Errorf("with 64 KiB groups: %d groups, want 3", got)
	}
}

func TestBatchServiceTime(t *testing.T) {
	c := DefaultCostModel()
	const blk = 2 << 20
	if got := c.BatchServiceTime(nil); got != 0 {
		t.Errorf("empty batch costs %v, want 0", got)
	}
	// Batches touching 1..8 VA blocks cover the published 223–553 µs.
	for groups := 1; groups <= 8; groups++ {
		var pages []uint64
		for g := range groups {
			for p := range 256 / groups {
				pages = append(pages, uint64(g*blk+p*4096))
			}
		}
		got := c.BatchServiceTime(pages)
		want := 178*time.Microsecond + time.Duration(groups)*45*time.Microsecond
		if got != want {
			t.Errorf("%d groups: %v, want %v", groups, got, want)
		}
		if got < 223*time.Microsecond || got > 553*time.Microsecond {
			t.Errorf("%d groups: %v outside the published 223–553 µs", groups, got)
		}
	}
	// Saturation instead of overflow.
	c.FaultGroupCost = math.MaxInt64 / 2
	if got := c.BatchServiceTime([]uint64{0, blk, 2 * blk}); got != math.MaxInt64 {
		t.Errorf("overflowing batch = %v, want saturation", got)
	}
}

// TestSgemmLikeBatchWithinPublishedRange builds one batch of 256 raw faults
// as a naive sgemm (C = A·B, 1024×1024 float32, each matrix 4 MiB and one
// 4 KiB page per row) produces them: the work-groups in flight fault on the A
// rows of their tiles, on a slab of B rows at their current k, and on the
// rows of their C tiles, with duplicates where several work-groups touch the
// same page. The Go heap places the matrices page-aligned but not 2 MiB
// aligned. The batch costs what Kim et al. measured for real batches.
func TestSgemmLikeBatchWithinPublishedRange(t *testing.T) {
	c := DefaultCostModel()
	const row = 4096 // 1024 float32
	a := uint64(0xc000_1a3000)
	b := a + 1024*row
	cm := b + 1024*row
	var faults []Fault
	item := 0
	add := func(addr uint64, write bool) {
		faults = append(faults, Fault{Addr: addr, Write: write, Item: item})
		item += 97
	}
	for r := range 48 { // A rows of three tile rows, two work-groups each
		add(a+uint64(r)*row+uint64(r%7)*4, false)
		add(a+uint64(r)*row+512, false)
	}
	for k := 400; k < 528; k++ { // a 128-row slab of B
		add(b+uint64(k)*row+uint64(k%16)*64, false)
	}
	for r := range 32 { // C tiles written back
		add(cm+uint64(r)*row+128, true)
	}
	if len(faults) != 256 {
		t.Fatalf("built %d faults, want 256", len(faults))
	}
	slices.SortFunc(faults, faultCompare)
	batches := Batches(faults, c.FaultBatchMax, c.PageSize)
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	pages := batches[0].PageAddrs()
	groups := c.FaultGroups(pages)
	cost := c.BatchServiceTime(pages)
	t.Logf("sgemm-like batch: %d raw faults, %d pages, %d VA blocks, %v", batches[0].Raw, len(pages), groups, cost)
	if len(pages) != 48+128+32 {
		t.Errorf("%d distinct pages, want %d", len(pages), 48+128+32)
	}
	if cost < 223*time.Microsecond || cost > 553*time.Microsecond {
		t.Errorf("sgemm-like batch costs %v, outside the published 223–553 µs", cost)
	}
}

func TestComputeTime(t *testing.T) {
	c := DefaultCostModel()
	tests := []struct {
		name                               string
		bytes, flops, hits, misses, remote int64
		want                               time.Duration
	}{
		{"nothing", 0, 0, 0, 0, 0, 0},
		{"bandwidth bound", 3e6, 0, 0, 0, 0, 1000},   // 3 MB at 3 TB/s
		{"compute bound", 3e6, 120e6, 0, 0, 0, 2000}, // 120 MFLOP at 60 TFLOP/s
		{"memory wins", 6e6, 60e6, 0, 0, 0, 2000},
		{"one byte", 1, 0, 0, 0, 0, 1}, // rounded up
		{"hits are free", 3e6, 0, 1e6, 0, 0, 1000},
		{"misses", 0, 0, 0, 16, 0, 68},   // 16 walks of 68 ns over 16 SMs
		{"one miss", 0, 0, 0, 1, 0, 5},   // ceil(68/16)
		{"remote", 0, 0, 0, 0, 16, 1712}, // 16 remote accesses over 16 SMs
		{"all", 3e6, 0, 5, 32, 32, 1000 + (32*68+32*1712)/16},
	}
	for _, tt := range tests {
		if got := c.ComputeTime(tt.bytes, tt.flops, tt.hits, tt.misses, tt.remote); got != tt.want {
			t.Errorf("%s: ComputeTime = %v, want %v", tt.name, got, tt.want)
		}
	}
	c.TLBHitCost = 2
	c.SMCount = 1
	if got := c.ComputeTime(0, 0, 10, 0, 0); got != 20 {
		t.Errorf("10 hits at 2ns on 1 SM = %v, want 20ns", got)
	}
	if got := c.ComputeTime(math.MaxInt64, 0, 0, math.MaxInt64, math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("huge counts = %v, want saturation", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("negative count did not panic")
		}
	}()
	c.ComputeTime(-1, 0, 0, 0, 0)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*CostModel)
		want   string
	}{
		{"pcie gen 2", func(c *CostModel) { c.PCIeGen = 2 }, "PCIeGen = 2"},
		{"pcie gen 0", func(c *CostModel) { c.PCIeGen = 0 }, "PCIeGen = 0"},
		{"batch 0", func(c *CostModel) { c.FaultBatchMax = 0 }, "FaultBatchMax = 0"},
		{"negative base", func(c *CostModel) { c.FaultServiceBase = -1 }, "FaultServiceBase"},
		{"negative group", func(c *CostModel) { c.FaultGroupCost = -1 }, "FaultGroupCost"},
		{"page 0", func(c *CostModel) { c.PageSize = 0 }, "PageSize = 0"},
		{"page 3000", func(c *CostModel) { c.PageSize = 3000 }, "PageSize = 3000"},
		{"big page negative", func(c *CostModel) { c.BigPageSize = -65536 }, "BigPageSize"},
		{"block 0", func(c *CostModel) { c.VABlockSize = 0 }, "VABlockSize = 0"},
		{"order", func(c *CostModel) { c.BigPageSize = 4 << 20 }, "out of order"},
		{"hbm 0", func(c *CostModel) { c.HBMBandwidth = 0 }, "HBMBandwidth"},
		{"hbm NaN", func(c *CostModel) { c.HBMBandwidth = math.NaN() }, "HBMBandwidth"},
		{"hbm Inf", func(c *CostModel) { c.HBMBandwidth = math.Inf(1) }, "HBMBandwidth"},
		{"flops negative", func(c *CostModel) { c.PeakFLOPS = -1 }, "PeakFLOPS"},
		{"remote negative", func(c *CostModel) { c.RemoteAccessLatency = -1 }, "RemoteAccessLatency"},
		{"hit negative", func(c *CostModel) { c.TLBHitCost = -1 }, "TLBHitCost"},
		{"miss negative", func(c *CostModel) { c.TLBMissCost = -1 }, "TLBMissCost"},
		{"sm 0", func(c *CostModel) { c.SMCount = 0 }, "SMCount = 0"},
		{"threads 0", func(c *CostModel) { c.ThreadsPerSM = 0 }, "ThreadsPerSM = 0"},
		{"groups 0", func(c *CostModel) { c.GroupsPerSM = 0 }, "GroupsPerSM = 0"},
		{"local negative", func(c *CostModel) { c.LocalMemoryPerSM = -1 }, "LocalMemoryPerSM = -1"},
	}
	for _, tt := range tests {
		c := DefaultCostModel()
		tt.mutate(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil", tt.name)
			continue
		}
		if !errors.Is(err, ErrInvalidCostModel) {
			t.Errorf("%s: %v does not wrap ErrInvalidCostModel", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %q, want it to mention %q", tt.name, err, tt.want)
		}
	}
	// Every problem is reported, not just the first.
	err := CostModel{}.Validate()
	for _, field := range []string{"FaultBatchMax", "PCIeGen", "PageSize", "BigPageSize", "VABlockSize",
		"HBMBandwidth", "PeakFLOPS", "SMCount", "ThreadsPerSM", "GroupsPerSM"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("zero CostModel: error %q does not mention %s", err, field)
		}
	}
}

// An SM holds as many work-groups as its threads, group slots and local
// memory allow, and always one.
func TestResident(t *testing.T) {
	c := DefaultCostModel()
	for _, tt := range []struct{ size, local, want int }{
		{256, 0, 8},         // 2048 threads
		{1024, 0, 2},        // 2048 threads
		{64, 0, 32},         // 32 group slots
		{1, 0, 32},          // 32 group slots
		{256, 16 << 10, 4},  // 64 KiB of local memory
		{256, 64 << 10, 1},  // a group that uses it all runs alone
		{4096, 0, 1},        // larger than an SM: still one
		{256, 100 << 10, 1}, // more local memory than an SM has: still one
	} {
		if got := c.Resident(tt.size, tt.local); got != tt.want {
			t.Errorf("Resident(%d items, %d bytes local) = %d, want %d", tt.size, tt.local, got, tt.want)
		}
	}
}
