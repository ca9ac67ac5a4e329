package simgpu

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// testFaults returns n faults on a few hundred pages, with duplicates of
// (page, item) and mixed flags.
func testFaults(n int, seed uint64) []Fault {
	r := rand.New(rand.NewPCG(seed, 1))
	faults := make([]Fault, n)
	for i := range faults {
		faults[i] = Fault{
			Addr:   0x7f00_0000_0000 + uint64(r.IntN(300))*4096 + uint64(r.IntN(1024))*4,
			Write:  r.IntN(4) == 0,
			Atomic: r.IntN(16) == 0,
			Item:   r.IntN(5000),
		}
	}
	faults = append(faults, faults[:n/10]...) // exact duplicates too
	return faults
}

// TestFaultBufferDrainOrderIndependentOfPushes pushes the same faults in
// different random orders from many goroutines; Drain always returns the
// same sequence, sorted by Addr then Item.
func TestFaultBufferDrainOrderIndependentOfPushes(t *testing.T) {
	faults := testFaults(5000, 1)
	want := slices.Clone(faults)
	slices.SortFunc(want, faultCompare)
	for i := 1; i < len(want); i++ {
		a, b := want[i-1], want[i]
		if a.Addr > b.Addr || (a.Addr == b.Addr && a.Item > b.Item) {
			t.Fatalf("reference order broken at %d: %+v before %+v", i, a, b)
		}
	}
	for trial := range 8 {
		order := slices.Clone(faults)
		r := rand.New(rand.NewPCG(uint64(trial), 99))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

		var buf FaultBuffer
		var wg sync.WaitGroup
		const pushers = 16
		for g := range pushers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(order); i += pushers {
					buf.Push(order[i])
				}
			}()
		}
		wg.Wait()
		if buf.Len() != len(faults) {
			t.Fatalf("trial %d: Len() = %d, want %d", trial, buf.Len(), len(faults))
		}
		var got []Fault
		if trial%2 == 0 {
			got = buf.Drain()
		} else {
			got = buf.DrainAppend(nil)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: Drain order depends on push order", trial)
		}
		if buf.Len() != 0 {
			t.Fatalf("trial %d: Len() = %d after Drain", trial, buf.Len())
		}
	}
}

// TestFaultBufferConcurrentPushDrain drains while pushers run (run with
// -race): nothing is lost or duplicated.
func TestFaultBufferConcurrentPushDrain(t *testing.T) {
	var buf FaultBuffer
	var wg sync.WaitGroup
	const pushers, each = 8, 2000
	for g := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				buf.Push(Fault{Addr: uint64(i) * 4096, Item: g*each + i})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := make(map[int]bool)
	var scratch []Fault
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		scratch = buf.DrainAppend(scratch[:0])
		for _, f := range scratch {
			if seen[f.Item] {
				t.Fatalf("item %d drained twice", f.Item)
			}
			seen[f.Item] = true
		}
	}
	for _, f := range buf.Drain() {
		seen[f.Item] = true
	}
	if len(seen) != pushers*each {
		t.Fatalf("drained %d distinct faults, want %d", len(seen), pushers*each)
	}
}

func TestFaultBufferEmptyAndAppend(t *testing.T) {
	var buf FaultBuffer
	if got := buf.Drain(); got != nil {
		t.Errorf("empty Drain() = %v, want nil", got)
	}
	buf.Push(Fault{Addr: 8192, Item: 2})
	buf.Push(Fault{Addr: 4096, Item: 9})
	prefix := []Fault{{Addr: 1 << 40, Item: 0}} // kept as is, not sorted in
	got := buf.DrainAppend(prefix)
	want := []Fault{{Addr: 1 << 40}, {Addr: 4096, Item: 9}, {Addr: 8192, Item: 2}}
	if !slices.Equal(got, want) {
		t.Errorf("DrainAppend = %+v, want %+v", got, want)
	}
	// Steady state: no allocation per drain once both slices have grown.
	scratch := make([]Fault, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 32 {
			buf.Push(Fault{Addr: uint64(32-i) * 4096, Item: i})
		}
		scratch = buf.DrainAppend(scratch[:0])
	})
	if allocs != 0 {
		t.Errorf("Push+DrainAppend allocates %.1f times per round", allocs)
	}
}

func TestFaultCompareTotalOrder(t *testing.T) {
	fs := []Fault{
		{Addr: 1, Item: 1, Write: true, Atomic: true},
		{Addr: 1, Item: 1, Write: true},
		{Addr: 1, Item: 1, Atomic: true},
		{Addr: 1, Item: 1},
		{Addr: 1, Item: 0, Write: true},
		{Addr: 0, Item: 7},
	}
	slices.SortFunc(fs, faultCompare)
	want := []Fault{
		{Addr: 0, Item: 7},
		{Addr: 1, Item: 0, Write: true},
		{Addr: 1, Item: 1},
		{Addr: 1, Item: 1, Atomic: true},
		{Addr: 1, Item: 1, Write: true},
		{Addr: 1, Item: 1, Write: true, Atomic: true},
	}
	if !slices.Equal(fs, want) {
		t.Errorf("sorted = %+v, want %+v", fs, want)
	}
}

func TestBatchesDedupAndMerge(t *testing.T) {
	const pg = 4096
	faults := []Fault{
		{Addr: 0x10000 + 8, Item: 3},
		{Addr: 0x10000 + 16, Item: 4, Write: true},
		{Addr: 0x10000 + 4000, Item: 5},
		{Addr: 0x11000, Item: 1, Atomic: true},
		{Addr: 0x11000 + 4, Item: 2},
		{Addr: 0x20000 + 12, Item: 0},
	}
	got := Batches(faults, 256, pg)
	want := []Batch{{
		Pages: []PageFault{
			{Page: 0x10000, Write: true, Count: 3},
			{Page: 0x11000, Atomic: true, Count: 2},
			{Page: 0x20000, Count: 1},
		},
		Raw: 6,
	}}
	if !batchesEqual(got, want) {
		t.Fatalf("Batches = %+v, want %+v", got, want)
	}
	if addrs := got[0].PageAddrs(); !slices.Equal(addrs, []uint64{0x10000, 0x11000, 0x20000}) {
		t.Errorf("PageAddrs() = %x", addrs)
	}
	// Unsorted input: same pages, still sorted.
	rev := slices.Clone(faults)
	slices.Reverse(rev)
	if got := Batches(rev, 256, pg); !batchesEqual(got, want) {
		t.Errorf("Batches(reversed) = %+v, want %+v", got, want)
	}
	// Page size other than 4 KiB: 64 KiB big pages merge the first two.
	big := Batches(faults, 256, 64<<10)
	if len(big) != 1 || len(big[0].Pages) != 2 || big[0].Pages[0] != (PageFault{Page: 0x10000, Write: true, Atomic: true, Count: 5}) {
		t.Errorf("64 KiB pages: %+v", big)
	}
	if Batches(nil, 256, pg) != nil {
		t.Error("Batches(nil) != nil")
	}
}

// TestBatchesSplitAt256: 600 raw faults make batches of 256, 256 and 88
// entries; a page straddling a boundary is listed in both batches, each with
// its own flags and counts.
func TestBatchesSplitAt256(t *testing.T) {
	var faults []Fault
	for i := range 600 {
		// 4 raw faults per page (2 on the first): faults 254..257 fall on
		// page 64 and straddle the first boundary; only the ones after it
		// write.
		page := uint64(i+2) / 4
		faults = append(faults, Fault{Addr: page*4096 + uint64(i%4)*8, Item: i, Write: i >= 256 && page == 64})
	}
	batches := Batches(faults, DefaultFaultBatchMax, 4096)
	if len(batches) != 3 {
		t.Fatalf("%d batches, want 3", len(batches))
	}
	for i, want := range []int{256, 256, 88} {
		b := batches[i]
		if b.Raw != want {
			t.Errorf("batch %d: Raw = %d, want %d", i, b.Raw, want)
		}
		sum := 0
		for j, p := range b.Pages {
			sum += p.Count
			if j > 0 && b.Pages[j-1].Page >= p.Page {
				t.Errorf("batch %d: pages not strictly increasing at %d", i, j)
			}
		}
		if sum != b.Raw {
			t.Errorf("batch %d: counts sum to %d, Raw = %d", i, sum, b.Raw)
		}
	}
	first, second := batches[0], batches[1]
	if last := first.Pages[len(first.Pages)-1]; last != (PageFault{Page: 64 * 4096, Count: 2}) {
		t.Errorf("straddling page in batch 0 = %+v", last)
	}
	if head := second.Pages[0]; head != (PageFault{Page: 64 * 4096, Write: true, Count: 2}) {
		t.Errorf("straddling page in batch 1 = %+v", head)
	}
	if len(first.Pages) != 65 || len(second.Pages) != 65 || len(batches[2].Pages) != 23 {
		t.Errorf("pages per batch = %d, %d, %d; want 65, 65, 23",
			len(first.Pages), len(second.Pages), len(batches[2].Pages))
	}
	// Earlier batches are not overwritten by later ones (shared backing).
	if first.Pages[0] != (PageFault{Page: 0, Count: 2}) {
		t.Errorf("batch 0 page 0 = %+v", first.Pages[0])
	}
	// Exactly 256: one batch.
	if got := Batches(faults[:256], 256, 4096); len(got) != 1 || got[0].Raw != 256 {
		t.Errorf("256 faults: %d batches", len(got))
	}
	if got := Batches(faults[:257], 256, 4096); len(got) != 2 || got[1].Raw != 1 {
		t.Errorf("257 faults: %d batches", len(got))
	}
}

// TestBatchesDeterministic: the whole pipeline (concurrent pushes, Drain,
// Batches, BatchServiceTime) gives identical results whatever the push order.
func TestBatchesDeterministic(t *testing.T) {
	faults := testFaults(3000, 7)
	c := DefaultCostModel()
	var ref []Batch
	for trial := range 4 {
		order := slices.Clone(faults)
		r := rand.New(rand.NewPCG(uint64(trial), 5))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var buf FaultBuffer
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(order); i += 8 {
					buf.Push(order[i])
				}
			}()
		}
		wg.Wait()
		got := Batches(buf.Drain(), c.FaultBatchMax, c.PageSize)
		if trial == 0 {
			ref = got
			continue
		}
		if !batchesEqual(got, ref) {
			t.Fatalf("trial %d: batches differ", trial)
		}
		for i := range got {
			if c.BatchServiceTime(got[i].PageAddrs()) != c.BatchServiceTime(ref[i].PageAddrs()) {
				t.Fatalf("trial %d batch %d: cost differs", trial, i)
			}
		}
	}
}

func TestBatchesPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"max 0":      func() { Batches([]Fault{{}}, 0, 4096) },
		"page 0":     func() { Batches([]Fault{{}}, 256, 0) },
		"page -4096": func() { Batches([]Fault{{}}, 256, -4096) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func batchesEqual(a, b []Batch) bool {
	return slices.EqualFunc(a, b, func(x, y Batch) bool {
		return x.Raw == y.Raw && slices.Equal(x.Pages, y.Pages)
	})
}
