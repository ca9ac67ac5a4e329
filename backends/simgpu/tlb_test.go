package simgpu

import (
	"sync"
	"sync/atomic"
	"testing"
)

// tlbFill inserts a translation for vpn backed by word, reading the word
// first as a page walk would.
func tlbFill(t *TLB, vpn uint64, word *uint64) {
	w := atomic.LoadUint64(word)
	t.Insert(TLBEntry{VPN: vpn, PTE: word, Word: w, Base: uintptr(0x1000_0000 + vpn*4096), Writable: vpn%2 == 0})
}

func TestNewTLBSizes(t *testing.T) {
	tests := []struct {
		entries, ways         int
		wantEntries, wantWays int
	}{
		{0, 4, 32, 4},
		{-3, 4, 32, 4},
		{32, 4, 32, 4},
		{30, 4, 32, 4},
		{33, 4, 64, 4},
		{1, 4, 1, 1},
		{2, 4, 2, 2},
		{16, 1, 16, 1},
		{16, 16, 16, 16},
		{16, 64, 16, 16},
		{16, 3, 16, 4},
	}
	for _, tt := range tests {
		tl := NewTLBAssoc(tt.entries, tt.ways)
		if tl.Entries() != tt.wantEntries || tl.Ways() != tt.wantWays {
			t.Errorf("NewTLBAssoc(%d, %d): %d entries, %d ways; want %d, %d",
				tt.entries, tt.ways, tl.Entries(), tl.Ways(), tt.wantEntries, tt.wantWays)
		}
	}
	if tl := NewTLB(0); tl.Entries() != DefaultTLBEntries || tl.Ways() != DefaultTLBWays {
		t.Errorf("NewTLB(0): %d entries, %d ways", tl.Entries(), tl.Ways())
	}
	defer func() {
		if recover() == nil {
			t.Error("NewTLBAssoc(8, 0) did not panic")
		}
	}()
	NewTLBAssoc(8, 0)
}

func TestTLBHitMiss(t *testing.T) {
	tl := NewTLB(32)
	words := make([]uint64, 8)
	for i := range words {
		words[i] = uint64(i)<<8 | 1
	}
	if e := tl.Lookup(3); e != nil {
		t.Fatalf("empty TLB hit: %+v", e)
	}
	for vpn := range uint64(8) {
		tlbFill(tl, vpn, &words[vpn])
	}
	for vpn := range uint64(8) {
		e := tl.Lookup(vpn)
		if e == nil {
			t.Fatalf("Lookup(%d) missed after Insert", vpn)
		}
		if e.VPN != vpn || e.PTE != &words[vpn] || e.Word != words[vpn] ||
			e.Base != uintptr(0x1000_0000+vpn*4096) || e.Writable != (vpn%2 == 0) || e.Remote {
			t.Errorf("Lookup(%d) = %+v", vpn, *e)
		}
	}
	if tl.Lookup(100) != nil {
		t.Error("Lookup(100) hit")
	}
	if tl.Hits != 8 || tl.Misses != 2 {
		t.Errorf("Hits = %d, Misses = %d; want 8, 2", tl.Hits, tl.Misses)
	}
	if tl.Len() != 8 {
		t.Errorf("Len() = %d, want 8", tl.Len())
	}
}

// TestTLBLazyShootdown changes the page-table word: the next lookup misses,
// drops the entry, and a refill hits again.
func TestTLBLazyShootdown(t *testing.T) {
	tl := NewTLB(32)
	word := uint64(0xabc0_0001)
	tlbFill(tl, 7, &word)
	if tl.Lookup(7) == nil {
		t.Fatal("miss after fill")
	}
	atomic.AddUint64(&word, 1<<32) // new sequence number: the mapping changed
	if e := tl.Lookup(7); e != nil {
		t.Fatalf("hit on a stale entry: %+v", e)
	}
	if tl.Len() != 0 {
		t.Errorf("stale entry kept: Len() = %d", tl.Len())
	}
	if tl.Hits != 1 || tl.Misses != 1 {
		t.Errorf("Hits = %d, Misses = %d; want 1, 1", tl.Hits, tl.Misses)
	}
	tlbFill(tl, 7, &word)
	if e := tl.Lookup(7); e == nil || e.Word != word {
		t.Fatalf("refill: Lookup = %+v", e)
	}
	// A stale entry in a later way is dropped without disturbing the others.
	tl = NewTLBAssoc(4, 4)
	ws := []uint64{10, 11, 12, 13}
	for i := range ws {
		tlbFill(tl, uint64(i), &ws[i])
	}
	atomic.StoreUint64(&ws[1], 99)
	if tl.Lookup(1) != nil {
		t.Fatal("stale entry hit")
	}
	for _, vpn := range []uint64{0, 2, 3} {
		if tl.Lookup(vpn) == nil {
			t.Errorf("Lookup(%d) missed after dropping a stale neighbour", vpn)
		}
	}
}

// TestTLBReplacementLRU fills one set past capacity: the least recently used
// entry goes.
func TestTLBReplacementLRU(t *testing.T) {
	tl := NewTLBAssoc(4, 4) // one fully associative set
	words := make([]uint64, 6)
	for vpn := range uint64(4) {
		tlbFill(tl, vpn, &words[vpn])
	}
	tl.Lookup(0) // order now (MRU first): 0 3 2 1
	tl.Lookup(2) // 2 0 3 1
	tlbFill(tl, 4, &words[4])
	if tl.Lookup(1) != nil {
		t.Error("LRU entry 1 survived")
	}
	for _, vpn := range []uint64{0, 2, 3, 4} {
		if tl.Lookup(vpn) == nil {
			t.Errorf("entry %d evicted, want only 1 gone", vpn)
		}
	}
	// Re-inserting a cached VPN replaces it in place, no duplicate.
	before := tl.Len()
	words[3] = 42
	tlbFill(tl, 3, &words[3])
	if tl.Len() != before {
		t.Errorf("re-insert changed Len from %d to %d", before, tl.Len())
	}
	if e := tl.Lookup(3); e == nil || e.Word != 42 {
		t.Errorf("re-inserted entry = %+v", e)
	}
}

// TestTLBDirectMappedConflict: VPNs equal modulo the set count evict each
// other in a direct-mapped TLB, and coexist with 4 ways.
func TestTLBDirectMappedConflict(t *testing.T) {
	words := make([]uint64, 2)
	dm := NewTLBAssoc(32, 1)
	tlbFill(dm, 5, &words[0])
	tlbFill(dm, 5+32, &words[1])
	if dm.Lookup(5) != nil || dm.Lookup(5+32) == nil {
		t.Error("direct-mapped: conflicting VPNs did not evict each other")
	}
	sa := NewTLB(32) // 8 sets of 4
	tlbFill(sa, 5, &words[0])
	tlbFill(sa, 5+8, &words[1])
	if sa.Lookup(5) == nil || sa.Lookup(5+8) == nil {
		t.Error("4-way: two VPNs of one set did not coexist")
	}
}

func TestTLBInvalidateRangeAndFlush(t *testing.T) {
	tl := NewTLB(32)
	words := make([]uint64, 20)
	for vpn := range uint64(20) {
		tlbFill(tl, vpn, &words[vpn])
	}
	tl.InvalidateRange(5, 10) // half-open: 5..9
	for vpn := range uint64(20) {
		hit := tl.Lookup(vpn) != nil
		if want := vpn < 5 || vpn >= 10; hit != want {
			t.Errorf("after InvalidateRange(5,10): Lookup(%d) hit = %v, want %v", vpn, hit, want)
		}
	}
	tl.InvalidateRange(12, 12) // empty
	tl.InvalidateRange(15, 3)  // empty
	if tl.Len() != 15 {
		t.Errorf("Len() = %d after empty ranges, want 15", tl.Len())
	}
	// Entries left behind keep working after compaction, and the freed ways
	// are reused.
	tlbFill(tl, 7, &words[7])
	if tl.Lookup(7) == nil || tl.Lookup(19) == nil {
		t.Error("TLB unusable after InvalidateRange")
	}
	hits, misses := tl.Hits, tl.Misses
	tl.Flush()
	if tl.Len() != 0 {
		t.Errorf("Len() = %d after Flush", tl.Len())
	}
	if tl.Hits != hits || tl.Misses != misses {
		t.Error("Flush changed the counters")
	}
	if tl.Lookup(0) != nil {
		t.Error("hit after Flush")
	}
}

func TestTLBInsertNilPTEPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Insert without PTE did not panic")
		}
	}()
	NewTLB(8).Insert(TLBEntry{VPN: 1})
}

func TestTLBLookupDoesNotAllocate(t *testing.T) {
	tl := NewTLB(32)
	words := make([]uint64, 32)
	for vpn := range uint64(32) {
		tlbFill(tl, vpn, &words[vpn])
	}
	vpn := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		tl.Lookup(vpn % 48) // hits, misses and LRU moves
		vpn += 5
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %.1f times per call", allocs)
	}
}

// TestTLBConcurrentPTEUpdates: the owner looks up while other goroutines
// change page-table words (run with -race). Every hit must carry the word
// currently in the page table as of the check.
func TestTLBConcurrentPTEUpdates(t *testing.T) {
	words := make([]uint64, 16)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				atomic.AddUint64(&words[(g*4+i)%16], 1)
			}
		}()
	}
	tl := NewTLB(32)
	for i := range 20000 {
		vpn := uint64(i % 16)
		if e := tl.Lookup(vpn); e == nil {
			tlbFill(tl, vpn, &words[vpn])
		} else if e.VPN != vpn {
			t.Fatalf("Lookup(%d) returned VPN %d", vpn, e.VPN)
		}
	}
	close(stop)
	wg.Wait()
	if tl.Hits+tl.Misses != 20000 {
		t.Errorf("Hits+Misses = %d, want 20000", tl.Hits+tl.Misses)
	}
}

// BenchmarkTLBLookupHit is the common case: the access hits the most
// recently used way of its set.
func BenchmarkTLBLookupHit(b *testing.B) {
	tl := NewTLB(32)
	words := make([]uint64, 8)
	for vpn := range uint64(8) {
		tlbFill(tl, vpn, &words[vpn])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if tl.Lookup(uint64(i&7)) == nil {
			b.Fatal("miss")
		}
	}
}

// BenchmarkTLBLookupHitLRUMove cycles through four VPNs of one set, so every
// hit is in the last way and moves to the front.
func BenchmarkTLBLookupHitLRUMove(b *testing.B) {
	tl := NewTLB(32) // 8 sets
	words := make([]uint64, 4)
	for i := range uint64(4) {
		tlbFill(tl, i*8, &words[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if tl.Lookup(uint64(i&3)*8) == nil {
			b.Fatal("miss")
		}
	}
}

// BenchmarkTLBLookupMiss looks up VPNs that are not cached.
func BenchmarkTLBLookupMiss(b *testing.B) {
	tl := NewTLB(32)
	words := make([]uint64, 32)
	for vpn := range uint64(32) {
		tlbFill(tl, vpn, &words[vpn])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if tl.Lookup(uint64(1000+i&1023)) != nil {
			b.Fatal("hit")
		}
	}
}
