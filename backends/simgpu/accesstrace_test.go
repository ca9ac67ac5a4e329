package simgpu

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleTrace is a small hand-made trace with every kind of event.
func sampleTrace() *AccessTrace {
	return &AccessTrace{
		Name: "sample",
		VRAM: 4 << 20,
		Regions: []TraceRegion{
			{Size: 8 << 12, Offset: 0, Writable: true},
			{Size: 3 << 12, Offset: 5 << 12, Writable: false},
		},
		Events: []TraceEvent{
			{Kind: TraceAdviceEvent, Region: 1, Advice: []TraceAdvice{{Off: 0, Len: 2 << 12, ReadMostly: true, AccessedByDevice: true}}},
			{Kind: TracePrefetchEvent, Region: 0, Off: 4096, Len: 3 * 4096},
			{Kind: TraceLaunchEvent, Launch: &TraceLaunch{
				Kernel: "k", Groups: 2, GroupSize: 2, LocalBytes: 64,
				Ranges: []TraceRange{{Region: 0, Off: 0, Len: 8 << 12}, {Region: 1, Off: 0, Len: 100}},
				Start:  []uint32{0, 2, 2, 3, 5},
				Accesses: []TraceAccess{
					{Region: 1, Kind: TraceRead, Page: 2, Count: 7, Bytes: 28},
					{Region: 0, Kind: TraceWrite, Page: 0, Count: 1, Bytes: 4},
					{Region: 0, Kind: TraceAtomic, Page: 7, Count: 1 << 31, Bytes: 1<<32 - 1},
					{Region: 1, Kind: TraceRead, Page: 0, Count: 1, Bytes: 16},
					{Region: 0, Kind: TraceWrite, Page: 1, Count: 2, Bytes: 8},
				},
			}},
			{Kind: TraceCPUEvent, CPU: []TraceTouch{{Region: 0, Page: 7, Write: true}, {Region: 1, Page: 2}}},
		},
	}
}

func TestAccessTraceRoundTrip(t *testing.T) {
	tr := sampleTrace()
	var buf bytes.Buffer
	n, err := tr.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || !strings.HasPrefix(buf.String(), traceMagic) {
		t.Fatalf("WriteTo said %d bytes, wrote %d, header %q", n, buf.Len(), buf.String()[:min(buf.Len(), 21)])
	}
	got, err := ReadAccessTrace(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("read back:\n%+v\nwant\n%+v", got, tr)
	}
	s := got.Summary()
	want := TraceSummary{Regions: 2, Launches: 1, Prefetches: 1, Advice: 1, CPUPhases: 1, Items: 4, Entries: 5, CPUTouches: 2,
		Accesses: 7 + 1 + 1<<31 + 1 + 2}
	if s != want {
		t.Errorf("Summary = %+v, want %+v", s, want)
	}
}

// Every reference a replay would follow is checked: a trace cannot make a
// replay touch memory outside its regions.
func TestAccessTraceValidate(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(*AccessTrace)
	}{
		{"region not whole pages", func(t *AccessTrace) { t.Regions[0].Size = 100 }},
		{"access past its region", func(t *AccessTrace) { t.Events[2].Launch.Accesses[0].Page = 3 }},
		{"access to no region", func(t *AccessTrace) { t.Events[2].Launch.Accesses[1].Region = 2 }},
		{"bad access kind", func(t *AccessTrace) { t.Events[2].Launch.Accesses[1].Kind = 2 }},
		{"item index short", func(t *AccessTrace) { t.Events[2].Launch.Start = t.Events[2].Launch.Start[:4] }},
		{"item index backwards", func(t *AccessTrace) { t.Events[2].Launch.Start[2] = 1 }},
		{"item index past the accesses", func(t *AccessTrace) { t.Events[2].Launch.Start[4] = 6 }},
		{"argument range past its region", func(t *AccessTrace) { t.Events[2].Launch.Ranges[1].Len = 3<<12 + 1 }},
		{"prefetch past its region", func(t *AccessTrace) { t.Events[1].Len = 8 << 12 }},
		{"prefetch wrapping", func(t *AccessTrace) { t.Events[1].Off, t.Events[1].Len = 4096, ^uint64(0) }},
		{"advice in no region", func(t *AccessTrace) { t.Events[0].Region = -1 }},
		{"touch past its region", func(t *AccessTrace) { t.Events[3].CPU[1].Page = 3 }},
		{"unknown event", func(t *AccessTrace) { t.Events[3].Kind = 9 }},
	}
	for _, c := range cases {
		tr := sampleTrace()
		c.spoil(tr)
		if err := tr.Validate(); !errors.Is(err, ErrBadTrace) {
			t.Errorf("%s: Validate = %v, want ErrBadTrace", c.name, err)
		}
	}
	if err := sampleTrace().Validate(); err != nil {
		t.Fatalf("the sample: %v", err)
	}
}

// A file that is not a trace, is cut short or declares absurd counts is an
// error, never a panic or a huge allocation.
func TestReadAccessTraceRejects(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sampleTrace().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := ReadAccessTrace(strings.NewReader("hello")); !errors.Is(err, ErrBadTrace) {
		t.Errorf("not a trace: %v", err)
	}
	for _, cut := range []int{len(traceMagic), len(traceMagic) + 10, len(good) - 12, len(good) - 1} {
		if _, err := ReadAccessTrace(bytes.NewReader(good[:cut])); !errors.Is(err, ErrBadTrace) {
			t.Errorf("cut at %d of %d: %v", cut, len(good), err)
		}
	}
	// A header declaring 2^40 regions, then nothing.
	var hb bytes.Buffer
	hb.WriteString(traceMagic)
	z := gzip.NewWriter(&hb)
	z.Write(binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(nil, 0), 0), 1<<40))
	z.Close()
	if _, err := ReadAccessTrace(&hb); !errors.Is(err, ErrBadTrace) {
		t.Errorf("2^40 regions: %v", err)
	}
	spoilt := &AccessTrace{Name: "odd", Regions: []TraceRegion{{Size: 4096}}, Events: []TraceEvent{{Kind: TraceEventKind(200)}}}
	var sb bytes.Buffer
	spoilt.WriteTo(&sb)
	if _, err := ReadAccessTrace(&sb); !errors.Is(err, ErrBadTrace) {
		t.Errorf("unknown event kind: %v", err)
	}
}
