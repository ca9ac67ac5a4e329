package simgpu

import (
	"fmt"
	"math/bits"
	"sync/atomic"
)

// DefaultTLBEntries is the default number of TLB entries. It is a simulator
// parameter sized like a GPU L1 TLB (tens of entries per SM), not a published
// figure for a particular GPU.
const DefaultTLBEntries = 32

// DefaultTLBWays is the associativity NewTLB uses.
const DefaultTLBWays = 4

// TLBEntry is one cached translation.
//
// Validity is checked lazily against the page table: the entry remembers the
// page-table word it was filled from (Word) and where that word lives (PTE).
// Whoever changes a mapping stores a new word — the page-state word carries a
// sequence number, so every change gives a different value — and every TLB
// that cached the old word misses on its next lookup. No shootdown message is
// needed. Fill Word with the value read before deriving Base and the flags
// from it, so a change racing with the fill is caught by the next lookup.
type TLBEntry struct {
	// VPN is the virtual page number (address / page size).
	VPN uint64
	// PTE points at the page-table word; it is read with atomic loads only.
	// A nil PTE marks an empty slot.
	PTE *uint64
	// Word is the value *PTE had when the entry was filled.
	Word uint64
	// Base is the address of the page's backing memory: a device frame in
	// the VRAM arena, or the host page for a remote mapping.
	Base uintptr
	// Writable says stores may use this translation.
	Writable bool
	// Remote says Base is host memory reached over PCIe.
	Remote bool
}

// TLB is a small set-associative device TLB with LRU replacement inside each
// set, keyed by virtual page number.
//
// A TLB is owned by one goroutine at a time (a simulated SM or work-item) and
// does no locking; only the page-table words it points at are shared, and
// those are read with sync/atomic. Replacement is deterministic (true LRU per
// set, sets indexed by the low VPN bits), so the same access sequence gives
// the same hits and misses on every run.
type TLB struct {
	// Hits and Misses count Lookup results. A lookup that finds a stale
	// entry (its page-table word changed) counts as a miss. The owner may
	// read or reset them.
	Hits, Misses int64

	// entries holds the sets one after another; within a set the valid
	// entries come first, most recently used first.
	entries []TLBEntry
	// setMask selects the set from a VPN (sets is a power of two).
	setMask uint64
	// wayShift is log2(ways): set s starts at entries[s<<wayShift].
	wayShift uint
	ways     int
}

// NewTLB returns an empty TLB with the given number of entries, 4-way set
// associative (fully associative below 4 entries). entries <= 0 selects
// DefaultTLBEntries; other sizes are rounded up to a power of two.
func NewTLB(entries int) *TLB {
	return NewTLBAssoc(entries, DefaultTLBWays)
}

// NewTLBAssoc returns an empty TLB with the given number of entries and
// ways per set: ways = 1 is direct-mapped, ways = entries is fully
// associative. entries <= 0 selects DefaultTLBEntries; entries and ways are
// rounded up to powers of two, and ways is capped at entries. It panics if
// ways < 1.
func NewTLBAssoc(entries, ways int) *TLB {
	if ways < 1 {
		panic(fmt.Sprintf("simgpu: NewTLBAssoc: ways = %d, want at least 1", ways))
	}
	if entries <= 0 {
		entries = DefaultTLBEntries
	}
	entries = tlbPow2(entries)
	ways = min(tlbPow2(ways), entries)
	sets := entries / ways
	return &TLB{
		entries:  make([]TLBEntry, entries),
		setMask:  uint64(sets - 1),
		wayShift: uint(bits.TrailingZeros(uint(ways))),
		ways:     ways,
	}
}

func tlbPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// Entries returns the capacity of the TLB.
func (t *TLB) Entries() int { return len(t.entries) }

// Ways returns the associativity.
func (t *TLB) Ways() int { return t.ways }

// Len returns the number of filled entries (stale ones included until a
// lookup finds them).
func (t *TLB) Len() int {
	n := 0
	for i := range t.entries {
		if t.entries[i].PTE != nil {
			n++
		}
	}
	return n
}

// set returns the ways of the set vpn maps to.
func (t *TLB) set(vpn uint64) []TLBEntry {
	i := int(vpn&t.setMask) << t.wayShift
	return t.entries[i : i+t.ways : i+t.ways]
}

// LookupMRU is Lookup's fast path, small enough to inline: a hit on the
// most recently used way of vpn's set (the common case of consecutive
// accesses to one page). It returns nil — counting nothing — when that way
// does not hold a valid entry for vpn; call Lookup then.
func (t *TLB) LookupMRU(vpn uint64) *TLBEntry {
	e := &t.entries[int(vpn&t.setMask)<<t.wayShift]
	if e.VPN == vpn && e.PTE != nil && atomic.LoadUint64(e.PTE) == e.Word {
		t.Hits++
		return e
	}
	return nil
}

// Lookup returns the entry for vpn if it is cached and still valid, that is
// if atomic.LoadUint64(e.PTE) == e.Word; otherwise it returns nil. A stale
// entry is dropped. A hit outside the first way moves the entry to the front
// of its set (LRU order). Every call counts one hit or one miss.
//
// The returned pointer aliases the TLB's storage: it is valid until the next
// call of any method on t. This is the hot path of every simulated device
// access; it does not allocate.
func (t *TLB) Lookup(vpn uint64) *TLBEntry {
	set := t.set(vpn)
	for i := range set {
		e := &set[i]
		if e.PTE == nil {
			break // valid entries are packed at the front
		}
		if e.VPN != vpn {
			continue
		}
		if atomic.LoadUint64(e.PTE) != e.Word {
			tlbRemove(set, i)
			t.Misses++
			return nil
		}
		if i != 0 {
			hit := *e
			copy(set[1:i+1], set[:i])
			set[0] = hit
		}
		t.Hits++
		return &set[0]
	}
	t.Misses++
	return nil
}

// Insert caches e as the most recently used entry of its set, replacing any
// entry with the same VPN, or else evicting the least recently used entry of
// a full set. It panics if e.PTE is nil.
func (t *TLB) Insert(e TLBEntry) {
	if e.PTE == nil {
		panic("simgpu: TLB.Insert: entry without a PTE pointer")
	}
	set := t.set(e.VPN)
	for i := range set {
		if set[i].PTE == nil {
			break
		}
		if set[i].VPN == e.VPN {
			tlbRemove(set, i)
			break
		}
	}
	copy(set[1:], set[:len(set)-1])
	set[0] = e
}

// InvalidateRange drops the entries with startVPN <= VPN < endVPN (a
// half-open range; nothing happens if endVPN <= startVPN). Lazy validation
// already catches changed page-table words; this is for eager shootdown, e.g.
// when a page-table leaf is freed and its words may be reused.
func (t *TLB) InvalidateRange(startVPN, endVPN uint64) {
	if endVPN <= startVPN {
		return
	}
	for s := 0; s < len(t.entries); s += t.ways {
		set := t.entries[s : s+t.ways]
		w := 0
		for r := range set {
			e := set[r]
			if e.PTE == nil || (e.VPN >= startVPN && e.VPN < endVPN) {
				continue
			}
			set[w] = e
			w++
		}
		clear(set[w:])
	}
}

// Flush drops every entry. Hits and Misses are kept.
func (t *TLB) Flush() {
	clear(t.entries)
}

// tlbRemove deletes set[i], keeping the remaining entries packed and in LRU
// order.
func tlbRemove(set []TLBEntry, i int) {
	copy(set[i:], set[i+1:])
	set[len(set)-1] = TLBEntry{}
}
