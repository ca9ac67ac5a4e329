package simgpu

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Recording an access trace (record.go): what a compiled launch accesses,
// per work-item, page and kind; the CPU's first touches of the pages the
// recording leaves on the device; refusals.

const recordSrc = `
__kernel void rec(__global int *out, __global const int *in, __global int *ctr, int stride) {
	int g = get_global_id(0);
	int s = 0;
	for (int k = 0; k < 3; k++) s += in[g * stride + k];
	out[g] = s;
	atomic_add(ctr, 1);
}
`

// recordProgram is the recorded workload: 8 work-items in groups of 4, each
// reading 3 ints of its own page of in, writing its int of out's first
// page, and adding 1 to ctr; then the CPU reads out and writes one int of
// in's page 5.
type recordProgram struct {
	out, in, ctr    []int32
	outB, inB, ctrB []byte
	k               *kernels.Kernel
}

const recordItems, recordStride = 8, svm.PageSize / 4

func newRecordProgram(t *testing.T) *recordProgram {
	t.Helper()
	needCompiler(t)
	p, err := kernels.Compile(recordSrc)
	if err != nil {
		t.Fatal(err)
	}
	rp := &recordProgram{
		outB: wholeBlock(t, svm.PageSize),
		inB:  wholeBlock(t, recordItems*svm.PageSize),
		ctrB: wholeBlock(t, svm.PageSize),
		k:    p.Kernel("rec"),
	}
	rp.out, rp.in, rp.ctr = testmem.Int32s(rp.outB), testmem.Int32s(rp.inB), testmem.Int32s(rp.ctrB)
	for i := range rp.in {
		rp.in[i] = int32(i % 7)
	}
	return rp
}

// wholeBlock returns the first n bytes of a 2 MiB VA block the test maps
// whole. The recorder parks every page of each block a launch touched on
// the device, clipped to the block's mapping, and logs the CPU's touches of
// them: with a buffer that shared its block with a mapping of someone
// else's (the kernel merges neighbouring anonymous mappings into one), the
// Go runtime's touches of that memory showed up in the log (seen once in
// some twenty runs: two extra CPU touches before the test's own).
func wholeBlock(t *testing.T, n int) []byte {
	return testmem.Aligned(t, 2<<20, 2<<20)[:n:n]
}

// run launches the kernel on d and makes the CPU's touches.
func (rp *recordProgram) run(t *testing.T, d *Device) error {
	t.Helper()
	if err := run(t, d, rp.k, kernels.Range1D(recordItems, 4), rp.out, rp.in, rp.ctr, int32(recordStride)); err != nil {
		return err
	}
	for g := range recordItems {
		if want := rp.in[g*recordStride] + rp.in[g*recordStride+1] + rp.in[g*recordStride+2]; rp.out[g] != want {
			t.Fatalf("out[%d] = %d, want %d", g, rp.out[g], want)
		}
	}
	rp.in[5*recordStride+9] = 1 // a store first: the CPU's touch of in's page 5 is a write
	if rp.ctr[0] != recordItems {
		t.Fatalf("ctr = %d, want %d", rp.ctr[0], recordItems)
	}
	return nil
}

func record(t *testing.T, rp *recordProgram) (*AccessTrace, *Recorder) {
	t.Helper()
	rec, err := NewRecorder("rec")
	if err != nil {
		t.Fatal(err)
	}
	d := newDev(t, WithRecorder(rec))
	if err := rp.run(t, d); err != nil {
		rec.Stop()
		t.Fatal(err)
	}
	tr, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	return tr, rec
}

func TestRecordLaunchAccesses(t *testing.T) {
	needUFFD(t)
	rp := newRecordProgram(t)
	tr, rec := record(t, rp)
	addr := func(reg int, page uint32) uintptr { return rec.starts[reg] + uintptr(page)*svm.PageSize }
	var launches []*TraceLaunch
	var cpu []TraceTouch
	for _, e := range tr.Events {
		switch e.Kind {
		case TraceLaunchEvent:
			launches = append(launches, e.Launch)
		case TraceCPUEvent:
			cpu = append(cpu, e.CPU...)
		case TraceAdviceEvent:
			t.Errorf("advice event %+v: the program gives none", e)
		}
	}
	if len(launches) != 1 {
		t.Fatalf("%d launch events, want 1: %+v", len(launches), tr.Events)
	}
	l := launches[0]
	if l.Kernel != "rec" || l.Groups != 2 || l.GroupSize != 4 || len(l.Start) != recordItems+1 {
		t.Fatalf("launch %s: %d groups of %d, %d items", l.Kernel, l.Groups, l.GroupSize, len(l.Start)-1)
	}
	for i := range recordItems {
		got := l.Item(i)
		want := []struct {
			at          uintptr
			kind        uint8
			count, byts uint32
		}{
			{testmem.Addr(rp.inB) + uintptr(i)*svm.PageSize, TraceRead, 3, 12},
			{testmem.Addr(rp.outB), TraceWrite, 1, 4},
			{testmem.Addr(rp.ctrB), TraceAtomic, 1, 4},
		}
		if len(got) != len(want) {
			t.Fatalf("item %d: %d entries %+v, want %d", i, len(got), got, len(want))
		}
		for j, w := range want {
			g := got[j]
			if addr(int(g.Region), g.Page) != w.at || g.Kind != w.kind || g.Count != w.count || g.Bytes != w.byts {
				t.Errorf("item %d entry %d: %#x kind %d, %d accesses, %d bytes; want %#x kind %d, %d, %d",
					i, j, addr(int(g.Region), g.Page), g.Kind, g.Count, g.Bytes, w.at, w.kind, w.count, w.byts)
			}
		}
	}
	// The CPU's first touches after the launch, in order: the check reads
	// in's page 0, then out's page, then in's pages 1..7 (page 5, written
	// by the store after it, is home already: no second touch), then ctr's
	// page.
	var want []uintptr
	var writes []bool
	for g := range recordItems {
		want, writes = append(want, testmem.Addr(rp.inB)+uintptr(g)*svm.PageSize), append(writes, false)
		if g == 0 {
			want, writes = append(want, testmem.Addr(rp.outB)), append(writes, false)
		}
	}
	want, writes = append(want, testmem.Addr(rp.ctrB)), append(writes, false)
	var got []uintptr
	for _, c := range cpu {
		got = append(got, addr(c.Region, c.Page))
	}
	if len(got) != len(want) {
		t.Fatalf("CPU touches %#x, want %#x", got, want)
	}
	for i := range want {
		if got[i] != want[i] || cpu[i].Write != writes[i] {
			t.Errorf("CPU touch %d: %#x write %v, want %#x write %v", i, got[i], cpu[i].Write, want[i], writes[i])
		}
	}
}

// After a recorded launch the pages it touched are on the device, so the
// CPU's next touch of each is a fault the log sees.
func TestRecordLeavesTouchedBlocksOnDevice(t *testing.T) {
	needUFFD(t)
	rp := newRecordProgram(t)
	rec, err := NewRecorder("park")
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	d := newDev(t, WithRecorder(rec))
	if err := run(t, d, rp.k, kernels.Range1D(recordItems, 4), rp.out, rp.in, rp.ctr, int32(recordStride)); err != nil {
		t.Fatal(err)
	}
	if st := countersOf(d); st.DeviceFaults != 0 {
		t.Errorf("a recording launch took %d device faults", st.DeviceFaults)
	}
	for _, b := range [][]byte{rp.inB, rp.outB, rp.ctrB} {
		for off := 0; off < len(b); off += svm.PageSize {
			w := atomic.LoadUint64(svm.PTE(testmem.Addr(b)+uintptr(off), true))
			if svm.WordState(w) != svm.StateDevice {
				t.Fatalf("page %#x: state %d after the recorded launch, want on the device", testmem.Addr(b)+uintptr(off), svm.WordState(w))
			}
		}
	}
}

func TestRecordRefuses(t *testing.T) {
	needUFFD(t)
	rec, err := NewRecorder("refuse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRecorder("second"); !errors.Is(err, svm.ErrBusy) {
		t.Errorf("a second recorder: %v, want ErrBusy", err)
	}
	d := newDev(t, WithRecorder(rec), WithGoBodies())
	x := testmem.Float32s(testmem.Pages(t, 1, 3))
	err = run(t, d, kernels.Saxpy, kernels.Range1D(256, 64), x, x, float32(2), int32(256))
	if !errors.Is(err, svm.ErrNotSupported) {
		t.Errorf("recording a Go body: %v, want ErrNotSupported", err)
	}
	if err := Replay(context.Background(), d, sampleTrace()); !errors.Is(err, svm.ErrNotSupported) {
		t.Errorf("replay on a recording device: %v, want ErrNotSupported", err)
	}
	// A memory command runs, but a trace cannot hold it: Stop says so.
	y := testmem.Float32s(testmem.Pages(t, 1, 3))
	if err := d.Copy(context.Background(), testmem.Addr(testmem.Pages(t, 1, 3)), uintptr(unsafe.Pointer(&y[0])), 64); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Stop(); !errors.Is(err, ErrRecording) || !errors.Is(err, svm.ErrNotSupported) || !strings.Contains(err.Error(), "not a copy") {
		t.Fatalf("Stop after a copy: %v, want ErrRecording and ErrNotSupported naming the copy", err)
	}
	if _, err := rec.Stop(); !errors.Is(err, svm.ErrClosed) {
		t.Errorf("second Stop: %v, want ErrClosed", err)
	}
}

// Accesses to private and local memory — through generic pointers too — are
// not in a trace: no policy places them.
func TestRecordSkipsPrivateAndLocal(t *testing.T) {
	k, outB, out := genericLocal(t)
	rec, err := NewRecorder("gen")
	if err != nil {
		t.Fatal(err)
	}
	d := newDev(t, WithRecorder(rec))
	if err := run(t, d, k, kernels.Range1D(128, 64), out); err != nil {
		rec.Stop()
		t.Fatal(err)
	}
	checkGenericLocal(t, out)
	tr, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Regions) != 1 {
		t.Fatalf("regions %+v, want out's mapping only", tr.Regions)
	}
	outPage := uint32((testmem.Addr(outB) - rec.starts[0]) / svm.PageSize)
	l := tr.Events[0].Launch
	for i := range 128 {
		if got := l.Item(i); len(got) != 1 || got[0].Kind != TraceWrite || got[0].Count != 1 || got[0].Page != outPage {
			t.Fatalf("item %d: %+v, want one store to out (page %d)", i, got, outPage)
		}
	}
}
