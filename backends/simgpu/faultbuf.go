package simgpu

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/svmrt/svmrt/svm"
)

// Fault is one replayable device fault: a work-item touched an address the
// device could not translate (or not with the needed permission) and stalls
// until the fault is serviced and it replays the access.
type Fault struct {
	// Addr is the faulting virtual address.
	Addr uint64
	// Write says the access was a store (or needs write permission).
	Write bool
	// Atomic says the access was an atomic read-modify-write.
	Atomic bool
	// Item is the global linear id of the faulting work-item; it makes the
	// order of faults deterministic whatever the host scheduling was.
	Item int
}

// faultCompare orders faults by Addr, then Item, then Write, then Atomic
// (false first). It is a total order on Fault values, so sorting gives the
// same sequence whatever the input order.
func faultCompare(a, b Fault) int {
	if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Item, b.Item); c != 0 {
		return c
	}
	if a.Write != b.Write {
		if a.Write {
			return 1
		}
		return -1
	}
	if a.Atomic != b.Atomic {
		if a.Atomic {
			return 1
		}
		return -1
	}
	return 0
}

// FaultBuffer collects replayable faults. Work-items executing on many
// goroutines Push concurrently; the scheduler Drains the buffer between
// waves. Unlike a hardware fault buffer it never overflows: the scheduler
// splits what it drains into batches of at most FaultBatchMax entries
// (Batches), which is where the hardware limit is modelled.
//
// The zero value is an empty buffer, ready to use. All methods are safe for
// concurrent use.
type FaultBuffer struct {
	mu sync.Mutex
	// pending holds the faults pushed since the last drain, in arrival
	// order (which is not deterministic). Guarded by mu.
	pending []Fault
}

// Push records a fault.
func (b *FaultBuffer) Push(f Fault) {
	b.mu.Lock()
	b.pending = append(b.pending, f)
	b.mu.Unlock()
}

// Len returns the number of pending faults.
func (b *FaultBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Drain removes and returns the pending faults sorted by Addr, then Item
// (then Write, then Atomic), so the result depends only on the set of faults
// pushed, not on the order of the pushes. It returns nil when nothing is
// pending. The caller owns the returned slice.
func (b *FaultBuffer) Drain() []Fault {
	b.mu.Lock()
	out := b.pending
	b.pending = nil
	b.mu.Unlock()
	slices.SortFunc(out, faultCompare)
	return out
}

// DrainAppend is Drain for callers that reuse a slice: it appends the
// pending faults, sorted as by Drain, to dst and returns the extended slice.
// The buffer keeps its own storage for the next pushes, so a scheduler
// looping DrainAppend(buf[:0]) allocates nothing in steady state.
func (b *FaultBuffer) DrainAppend(dst []Fault) []Fault {
	b.mu.Lock()
	n := len(dst)
	dst = append(dst, b.pending...)
	clear(b.pending)
	b.pending = b.pending[:0]
	b.mu.Unlock()
	slices.SortFunc(dst[n:], faultCompare)
	return dst
}

// PageFault is one page of a batch after deduplication.
type PageFault struct {
	// Page is the page-aligned address (Addr rounded down to the page size).
	Page uint64
	// Write and Atomic are the OR over the raw faults merged into this page:
	// the page needs write permission if any of them wrote.
	Write, Atomic bool
	// Count is the number of raw faults of this batch on this page.
	Count int
}

// Batch is one fault batch: the raw entries fetched together, deduplicated.
type Batch struct {
	// Pages are the distinct pages, sorted by address.
	Pages []PageFault
	// Raw is the number of raw fault entries the batch absorbed (the sum of
	// the Counts).
	Raw int
}

// PageAddrs returns the page addresses of the batch in order, the argument
// CostModel.BatchServiceTime takes.
func (b Batch) PageAddrs() []uint64 {
	addrs := make([]uint64, len(b.Pages))
	for i, p := range b.Pages {
		addrs[i] = p.Page
	}
	return addrs
}

// Batches splits faults into batches as the NVIDIA UVM driver fetches them:
// consecutive runs of at most maxRaw raw entries (uvm_perf_fault_batch_count,
// 256 by default), each then deduplicated by page (pageSize bytes, any
// positive size) with the Write and Atomic flags of the merged faults ORed
// together. The input is expected in Drain order (sorted by address), which
// makes each batch cover an address range; pages within a batch come out
// sorted whatever the input order.
//
// A page whose raw faults straddle a batch boundary is listed in both
// batches; batches are not deduplicated against each other. This mirrors
// the driver, which deduplicates each fetched batch on its own and finds a
// later batch's faults on an already serviced page resident; and it keeps every raw fault's flags in the batch
// that fetched it, so a write that arrives after a read fault on the same
// page was serviced read-only still asks for the upgrade. The scheduler
// skips pages already resident with the needed permission, and charges
// BatchServiceTime only for the pages it services.
//
// The returned batches share one backing array; it panics if maxRaw or
// pageSize is not positive.
func Batches(faults []Fault, maxRaw int, pageSize int) []Batch {
	if maxRaw <= 0 {
		panic(fmt.Sprintf("simgpu: Batches: maxRaw = %d, want at least 1", maxRaw))
	}
	if pageSize <= 0 {
		panic(fmt.Sprintf("simgpu: Batches: pageSize = %d, want at least 1", pageSize))
	}
	if len(faults) == 0 {
		return nil
	}
	ps := uint64(pageSize)
	out := make([]Batch, 0, (len(faults)+maxRaw-1)/maxRaw)
	// At most one PageFault per raw fault, so all never grows past its
	// capacity and earlier batches' slices stay intact.
	all := make([]PageFault, 0, len(faults))
	for start := 0; start < len(faults); start += maxRaw {
		chunk := faults[start:min(start+maxRaw, len(faults))]
		first := len(all)
		for _, f := range chunk {
			all = append(all, PageFault{Page: f.Addr / ps * ps, Write: f.Write, Atomic: f.Atomic, Count: 1})
		}
		pages := all[first:]
		// Merging is commutative (OR, sum), so an unstable sort by page
		// alone gives a deterministic result; sorted input costs one pass.
		slices.SortFunc(pages, func(a, b PageFault) int { return cmp.Compare(a.Page, b.Page) })
		w := 0
		for _, p := range pages {
			if w > 0 && pages[w-1].Page == p.Page {
				q := &pages[w-1]
				q.Write = q.Write || p.Write
				q.Atomic = q.Atomic || p.Atomic
				q.Count += p.Count
				continue
			}
			pages[w] = p
			w++
		}
		end := first + w
		all = all[:end]
		out = append(out, Batch{Pages: all[first:end:end], Raw: len(chunk)})
	}
	return out
}

// faultRanges returns the pages faults (sorted by address, as the service
// gets them) are on, as disjoint ranges of whole pages in one pass.
func faultRanges(faults []Fault) [][2]uintptr {
	var out [][2]uintptr
	for _, f := range faults {
		p, n := uintptr(f.Addr&^pageMask), len(out)
		switch {
		case n > 0 && p < out[n-1][1]: // the page the last range ends with
		case n > 0 && p == out[n-1][1]:
			out[n-1][1] += svm.PageSize
		default:
			out = append(out, [2]uintptr{p, p + svm.PageSize})
		}
	}
	return out
}
