package simgpu

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

func TestDensityPrefetch(t *testing.T) {
	bits := func(s string) []bool {
		out := make([]bool, len(s))
		for i, c := range s {
			out[i] = c == 'x'
		}
		return out
	}
	// f: faulting, r: resident, .: neither. Eligible unless marked in e.
	for _, c := range []struct {
		block, ineligible string
		threshold, grain  int
		want              []int
	}{
		{"ff......", "", 51, 1, nil},                       // 2/2 then 2/4 = 50 %: nothing to add
		{"rrf.....", "", 51, 1, []int{3}},                  // 3/4 = 75 %: the quarter
		{"rrrrf...", "", 51, 1, []int{5, 6, 7}},            // 5/8: the whole block
		{"rrrrf...", "......x.", 51, 1, []int{5, 7}},       // ineligible pages stay
		{"f.r.r.r.", "", 51, 1, nil},                       // 50 % everywhere: never above
		{"f.r.r.r.", "", 49, 1, []int{1, 3, 5, 7}},         // just above a lower threshold
		{"rrrr...f", "", 51, 1, []int{4, 5, 6}},            // 5/8 around the fault: the whole block
		{"....rrf.", "", 51, 1, []int{7}},                  // 3/4 of the last quarter
		{"f.......", "", 1, 1, []int{1, 2, 3, 4, 5, 6, 7}}, // 1/8 > 1 %
		{"f.......", "", 51, 2, []int{1}},                  // the fault grows to its big page
		{"..f.....", "", 51, 4, []int{0, 1, 3}},            // a bigger page
		{"rr..f...", "", 51, 2, []int{5}},                  // grown to 4,5; 2/4 and 4/8 are not above 51 %
	} {
		b := BlockState{Faulted: make([]bool, len(c.block)), Resident: make([]bool, len(c.block)), Eligible: make([]bool, len(c.block))}
		for i, ch := range c.block {
			b.Faulted[i] = ch == 'f'
			b.Resident[i] = ch == 'r'
			b.Eligible[i] = ch == '.' && (c.ineligible == "" || c.ineligible[i] != 'x')
		}
		got := DensityPrefetch(b, c.threshold, c.grain)
		if !slices.Equal(got, c.want) {
			t.Errorf("DensityPrefetch(%s, inelig %q, %d%%, grain %d) = %v, want %v", c.block, c.ineligible, c.threshold, c.grain, got, c.want)
		}
	}
	// A thrashing page does not grow.
	b := BlockState{Faulted: bits("x......."), Resident: make([]bool, 8), Eligible: bits(".xxxxxxx"), Thrashing: bits("x.......")}
	if got := DensityPrefetch(b, 51, 4); got != nil {
		t.Errorf("thrashing page grew: %v", got)
	}
	b.Faulted = bits("xxxxxx")
	if got := DensityPrefetch(BlockState{Faulted: bits("xxxxxx"), Resident: make([]bool, 6), Eligible: make([]bool, 6)}, 51, 1); got != nil {
		t.Errorf("non-power-of-two block: %v", got)
	}
	b = BlockState{Faulted: bits("xxxxx..."), Resident: make([]bool, 8), Eligible: bits(".....xxx")}
	if got := (&UVM{}).Prefetch(b); got != nil {
		t.Errorf("prefetch off still prefetched %v", got)
	}
}

func TestVictimLRUUnusedFirst(t *testing.T) {
	p := &UVM{}
	c := []Chunk{{Block: 0, Resident: 3, LastUse: 5}, {Block: 1, Resident: 1, LastUse: 2}, {Block: 2, Resident: 9, LastUse: 2}}
	if got := p.Victim(c); got != 1 {
		t.Errorf("LRU victim = %d, want 1 (oldest, lowest address on a tie)", got)
	}
	c = append(c, Chunk{Block: 3, Resident: 0, LastUse: 9})
	if got := p.Victim(c); got != 3 {
		t.Errorf("victim = %d, want the unused chunk 3", got)
	}
}

func TestPolicyByName(t *testing.T) {
	for _, n := range PolicyNames() {
		p, err := PolicyByName(n)
		if err != nil || p.Name() != n {
			t.Errorf("PolicyByName(%q) = %v, %v", n, p, err)
		}
	}
	if _, err := PolicyByName("lru-magic"); err == nil || !strings.Contains(err.Error(), "demand") {
		t.Errorf("unknown policy: %v (want the known names listed)", err)
	}
}

// A device whose memory is full evicts LRU chunks and the launch completes
// with correct results; the evicted pages are back on the host.
func TestEvictionUnderOversubscription(t *testing.T) {
	needUFFD(t)
	d := newDev(t, WithVRAM(4<<20)) // two 2 MiB chunks
	n := 768 << 10                  // 3 MiB per array: 6 MiB footprint
	if testing.Short() {
		n = 384 << 10
		d = newDev(t, WithVRAM(2<<20))
	}
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i%97), float32(i%13)
	}
	want := append([]float32(nil), y...)
	kernels.RefSaxpy(want, x, 2, n)
	if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	s := d.Stats()
	if s.Evictions == 0 || s.PagesEvicted == 0 {
		t.Fatalf("no eviction: %+v", s)
	}
	if resident := d.mem.Frames() - d.mem.FreeFrames(); resident > d.mem.Frames() {
		t.Fatalf("%d frames in use of %d", resident, d.mem.Frames())
	}
	// Early pages were evicted: on the host again, with the device's writes.
	snap, err := d.space.Snapshot(uintptr(unsafe.Pointer(&y[0])), svm.PageSize, d.mem.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap[0].State == svm.PageOnDevice {
		t.Errorf("y's first page still on the device after the device filled up: %v", snap[0].State)
	}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
}

func gatherOnce(t *testing.T, d *Device, out, src []float32, idx []uint32) {
	t.Helper()
	if err := run(t, d, kernels.Gather, kernels.GatherRange(len(idx)), out, src, idx, int32(len(idx))); err != nil {
		t.Fatal(err)
	}
	for i, j := range idx {
		if out[i] != src[j] {
			t.Fatalf("out[%d] = %v, want src[%d] = %v", i, out[i], j, src[j])
		}
	}
}

// Read duplication: the device gets read-only copies, the host keeps its
// pages (reading them takes no fault), and a CPU write collapses the copies
// so the device sees the new value on its next launch.
func TestReadDuplication(t *testing.T) {
	needUFFD(t)
	uvm, _ := PolicyByName("uvm")
	d := newDev(t, WithPolicy(uvm))
	src := make([]float32, 16*1024) // 16 pages
	for i := range src {
		src[i] = float32(i)
	}
	idx := make([]uint32, 4096)
	for i := range idx {
		idx[i] = uint32(i * 4 % len(src))
	}
	out := make([]float32, len(idx))
	sp, sn := uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)*4)
	if err := svm.Advise(sp, sn, svm.SetReadMostly, svm.LocationNone); err != nil {
		t.Fatal(err)
	}
	defer svm.ClearAdvice(sp, sn)
	gatherOnce(t, d, out, src, idx)
	s := d.Stats()
	if s.Duplicates == 0 {
		t.Fatalf("no duplicates: %+v", s)
	}
	snap, err := d.space.Snapshot(sp+svm.PageSize, svm.PageSize, d.mem.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap[0].State != svm.PageDuplicated || snap[0].Device != d.mem.ID() || snap[0].Exclusive {
		t.Fatalf("src page 1 is %v (device %d), want duplicated on %d", snap[0].State, snap[0].Device, d.mem.ID())
	}
	// Host reads: no fault, nothing comes back.
	var sum float32
	for _, v := range src {
		sum += v
	}
	if s2 := d.Stats(); s2.PagesD2H != s.PagesD2H || s2.CPUFaults != s.CPUFaults || sum == 0 {
		t.Fatalf("host reads of duplicated pages moved pages: %+v", s2)
	}
	// A host write collapses that page's copies; the next launch sees it.
	src[1024+4] = -1 // page 1
	if _, c := d.mem.DupCounters(); c == 0 {
		t.Fatal("a host write to a duplicated page did not collapse it")
	}
	snap, _ = d.space.Snapshot(sp+svm.PageSize, svm.PageSize, d.mem.ID())
	if snap[0].State != svm.PageWritable {
		t.Fatalf("after the host write page 1 is %v, want writable", snap[0].State)
	}
	gatherOnce(t, d, out, src, idx)
	if out[257] != -1 { // idx[257] = 1028
		t.Fatalf("device read a stale duplicate: out[257] = %v", out[257])
	}
}

// A device write to a duplicated page collapses it into an exclusive
// device page; the host then faults it back with the write.
func TestDeviceWriteCollapsesDuplicate(t *testing.T) {
	needUFFD(t)
	uvm, _ := PolicyByName("uvm")
	d := newDev(t, WithPolicy(uvm))
	x := make([]float32, 2048) // 2 pages
	y := make([]float32, 2048)
	for i := range x {
		x[i], y[i] = 1, float32(i)
	}
	yp, yn := uintptr(unsafe.Pointer(&y[0])), uintptr(len(y)*4)
	if err := svm.Advise(yp, yn, svm.SetReadMostly, svm.LocationNone); err != nil {
		t.Fatal(err)
	}
	defer svm.ClearAdvice(yp, yn)
	// A read of y makes duplicates (y as gather's source)...
	idx := []uint32{0, 1024, 2047}
	out := make([]float32, 3)
	gatherOnce(t, d, out, y, idx)
	if s := d.Stats(); s.Duplicates == 0 {
		t.Fatalf("no duplicate of y: %+v", s)
	}
	// ... and saxpy writing y collapses them.
	if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(len(y)), y, x, float32(2), int32(len(y))); err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.Collapses == 0 {
		t.Fatalf("device write did not collapse: %+v", s)
	}
	for i := range y {
		if y[i] != float32(i)+2 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], float32(i)+2)
		}
	}
}

// Closing a device that holds duplicates finishes (they are dropped) and
// leaves host data as it was.
func TestCloseWithDuplicates(t *testing.T) {
	needUFFD(t)
	uvm, _ := PolicyByName("uvm")
	d, err := New(WithPolicy(uvm))
	if err != nil {
		t.Fatal(err)
	}
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i)
	}
	sp, sn := uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)*4)
	svm.Advise(sp, sn, svm.SetReadMostly, svm.LocationNone)
	defer svm.ClearAdvice(sp, sn)
	idx := []uint32{0, 1500, 4095}
	gatherOnce(t, d, make([]float32, 3), src, idx)
	if d.Stats().Duplicates == 0 {
		t.Fatal("no duplicates")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range src {
		if src[i] != float32(i) {
			t.Fatalf("src[%d] = %v after close", i, src[i])
		}
	}
	src[5] = 7 // writable again (a protection left over is cleared on the write)
	if src[5] != 7 {
		t.Fatal("write lost")
	}
}

// Two simulated GPUs: a page resident on one and touched by the other
// moves over the peer link.
func TestTwoDevicesPeerMigration(t *testing.T) {
	needUFFD(t)
	a := newDev(t, WithName("gpu0"))
	b := newDev(t, WithName("gpu1"))
	n := 8192
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 0
	}
	if err := run(t, a, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1), int32(n)); err != nil {
		t.Fatal(err)
	}
	snap, _ := b.space.Snapshot(uintptr(unsafe.Pointer(&y[0])), svm.PageSize, b.mem.ID())
	if snap[0].State != svm.PageOnOtherDevice || snap[0].Device != a.mem.ID() {
		t.Fatalf("y on %v/%d, want on gpu0 (%d)", snap[0].State, snap[0].Device, a.mem.ID())
	}
	if err := run(t, b, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1), int32(n)); err != nil {
		t.Fatal(err)
	}
	snap, _ = b.space.Snapshot(uintptr(unsafe.Pointer(&y[0])), svm.PageSize, b.mem.ID())
	if snap[0].State != svm.PageOnDevice {
		t.Fatalf("y on %v after gpu1's launch, want on gpu1", snap[0].State)
	}
	if b.Clock().TransferPeer == 0 {
		t.Errorf("no peer transfer charged on gpu1: %v", b.Clock())
	}
	if a.Stats().PagesD2H == 0 {
		t.Errorf("gpu0 gave up no pages: %+v", a.Stats())
	}
	// gpu0's next operation must not bill the pages gpu1 took as CPU faults.
	before := a.Clock().CPUFault
	if err := run(t, a, kernels.Saxpy, kernels.SaxpyRange(1), make([]float32, 1), make([]float32, 1), float32(1), int32(1)); err != nil {
		t.Fatal(err)
	}
	if a.Clock().CPUFault != before {
		t.Errorf("peer moves charged as CPU faults on gpu0: %v -> %v", before, a.Clock().CPUFault)
	}
	for i := range y {
		if y[i] != 2 {
			t.Fatalf("y[%d] = %v, want 2", i, y[i])
		}
	}
}

// Two GPUs taking turns on the same pages thrash; the uvm policy detects
// it on each device and mitigates (the pages end up mapped remotely), and
// the data stays right.
func TestThrashingBetweenTwoDevices(t *testing.T) {
	needUFFD(t)
	pa, _ := PolicyByName("uvm")
	pb, _ := PolicyByName("uvm")
	a := newDev(t, WithPolicy(pa), WithName("gpu0"))
	b := newDev(t, WithPolicy(pb), WithName("gpu1"))
	const pages, stride, rounds = 16, svm.PageSize / 4, 20
	p := make([]int32, pages*stride)
	for r := 0; r < rounds; r++ {
		for _, d := range []*Device{a, b} {
			if err := run(t, d, kernels.StrideAdd, kernels.StrideAddRange(pages), p, int32(stride), int32(1), int32(pages)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < pages; i++ {
		if p[i*stride] != 2*rounds {
			t.Fatalf("p[%d] = %d, want %d", i*stride, p[i*stride], 2*rounds)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.ThrashEvents == 0 || sb.ThrashEvents == 0 || sa.Throttles+sb.Throttles == 0 {
		t.Fatalf("gpu0 %+v\ngpu1 %+v: want thrashing detected on both and throttled", sa, sb)
	}
	t.Logf("gpu0: thrash %d throttles %d pins %d H2D %d; gpu1: thrash %d throttles %d pins %d H2D %d",
		sa.ThrashEvents, sa.Throttles, sa.Pins, sa.PagesH2D, sb.ThrashEvents, sb.Throttles, sb.Pins, sb.PagesH2D)
}

// countingPolicy is demand paging that counts the device's Prefetch calls;
// silentPolicy is the same saying it never prefetches.
type countingPolicy struct {
	uvm   UVM // not embedded: its Prefetches would be promoted
	calls int
}

func (p *countingPolicy) Name() string                { return p.uvm.Name() }
func (p *countingPolicy) Place(f FaultInfo) Verdict   { return p.uvm.Place(f) }
func (p *countingPolicy) Victim(c []Chunk) int        { return p.uvm.Victim(c) }
func (p *countingPolicy) Evicts() bool                { return p.uvm.Evicts() }
func (p *countingPolicy) Prefetch(b BlockState) []int { p.calls++; return p.uvm.Prefetch(b) }

type silentPolicy struct{ *countingPolicy }

func (p silentPolicy) Prefetches() bool { return false }

// A policy that reports it never prefetches is not asked to (the device
// skips the block scan); any other policy is asked for every faulting
// block. The pages that move are the same.
func TestPrefetchReporterSkipsTheScan(t *testing.T) {
	needCompiler(t)
	const n = 16 << 10
	asked := &countingPolicy{uvm: UVM{Label: "demand"}}
	st := saxpyFaults(t, n, WithPolicy(asked))
	silent := &countingPolicy{uvm: UVM{Label: "demand"}}
	st2 := saxpyFaults(t, n, WithPolicy(silentPolicy{silent}))
	if asked.calls == 0 || silent.calls != 0 {
		t.Errorf("Prefetch calls: %d without PrefetchReporter (want > 0), %d with Prefetches false (want 0)", asked.calls, silent.calls)
	}
	if st.PagesH2D != st2.PagesH2D || st.FaultBatches != st2.FaultBatches {
		t.Errorf("pages H→D %d vs %d, batches %d vs %d: want the same", st.PagesH2D, st2.PagesH2D, st.FaultBatches, st2.FaultBatches)
	}
	if (&UVM{}).Prefetches() || !(&UVM{PrefetchThreshold: 51}).Prefetches() || (RemoteOnly{}).Prefetches() {
		t.Error("Prefetches: UVM without a threshold, RemoteOnly: false; UVM with one: true")
	}
}
