package simgpu

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/svmrt/svmrt/svm"
)

// Access traces: what a workload did to its memory, recorded once on one
// device (Recorder, record.go) and replayed on fresh devices under any
// memory policy (Replay, replay.go), so that policies are compared on one
// recording instead of re-running the program.
//
// A trace names memory by region (a CPU mapping the workload's kernels
// touched: its size, its offset in a VA block — which decides fault
// groups, chunks and prefetch regions — and whether it is writable) and
// page index in it, never by address: a replay maps fresh regions at the
// same VA-block offsets. Its events, in program order:
//   - a launch: the kernel's geometry and, for every work-item, its page
//     accesses — one entry per page and kind (load, store, atomic), in the
//     order of the item's first such access, with how many accesses and
//     bytes;
//   - a prefetch of a range;
//   - advice: a region's whole advice from then on (the recording device
//     becomes "this device", the host stays the host);
//   - a CPU phase: the pages the CPU touched on a device between two device
//     operations, each page's first touch in order, and whether it wrote.
//
// What a trace cannot say: the order of a work-item's accesses beyond each
// page's first (a replay's TLB sees one access sequence per item, its
// first touches, and the rest as hits), the CPU's touches of host pages
// (they cost nothing under any policy) or of a page after its first, and
// memory freed and mapped again during the workload (a region lives for
// the whole trace).

// TraceRegion is a CPU mapping a trace's events refer to.
type TraceRegion struct {
	Size     uint64 // bytes, whole pages
	Offset   uint64 // where it starts in its VA block (the start modulo the VA-block size)
	Writable bool
}

// TraceEventKind is what a trace event records.
type TraceEventKind uint8

// The kinds of trace events.
const (
	TraceLaunchEvent TraceEventKind = iota + 1
	TracePrefetchEvent
	TraceAdviceEvent
	TraceCPUEvent
)

func (k TraceEventKind) String() string {
	switch k {
	case TraceLaunchEvent:
		return "launch"
	case TracePrefetchEvent:
		return "prefetch"
	case TraceAdviceEvent:
		return "advice"
	case TraceCPUEvent:
		return "cpu"
	}
	return fmt.Sprintf("TraceEventKind(%d)", uint8(k))
}

// TraceEvent is one thing the workload did.
type TraceEvent struct {
	Kind   TraceEventKind
	Launch *TraceLaunch // TraceLaunchEvent
	// TracePrefetchEvent: [Off, Off+Len) of region Region.
	// TraceAdviceEvent: Region's advice (Advice; none when empty).
	Region   int
	Off, Len uint64
	Advice   []TraceAdvice
	CPU      []TraceTouch // TraceCPUEvent
}

// TraceAdvice is the advice of [Off, Off+Len) of a region.
type TraceAdvice struct {
	Off, Len uint64
	// PreferHost, PreferDevice: the preferred location is the host, or the
	// device (the recording one, the replaying one); neither: none.
	PreferHost, PreferDevice bool
	AccessedByDevice         bool
	ReadMostly               bool
}

// TraceTouch is the CPU's first touch of a device page in a CPU phase.
type TraceTouch struct {
	Region int
	Page   uint32 // page index in the region
	Write  bool
}

// TraceLaunch is one kernel launch: its geometry, and every work-item's
// page accesses.
type TraceLaunch struct {
	Kernel     string
	Groups     int // work-groups, in launch order
	GroupSize  int // work-items per group
	LocalBytes int // local memory per group (decides how many groups an SM holds)
	// Ranges are the memory the arguments name (the prefetcher's
	// candidates: it never moves a page outside them).
	Ranges []TraceRange
	// Item i of group g (local linear id i) has the accesses
	// Accesses[Start[g*GroupSize+i]:Start[g*GroupSize+i+1]].
	Start    []uint32
	Accesses []TraceAccess
}

// TraceRange is [Off, Off+Len) of region Region.
type TraceRange struct {
	Region   int
	Off, Len uint64
}

// TraceAccess is a work-item's accesses to one page of one kind.
type TraceAccess struct {
	Region uint16
	Kind   uint8 // TraceRead, TraceWrite, TraceAtomic
	Page   uint32
	Count  uint32
	Bytes  uint32
}

// Access kinds of a TraceAccess.
const (
	TraceRead   = 0
	TraceWrite  = 1
	TraceAtomic = 3 // an atomic is a write too
)

// Item returns the accesses of work-item i (group-major: group*GroupSize +
// local linear id).
func (l *TraceLaunch) Item(i int) []TraceAccess { return l.Accesses[l.Start[i]:l.Start[i+1]] }

// AccessTrace is a recorded workload (see the top of this file).
type AccessTrace struct {
	Name string
	// VRAM is the device memory the workload is meant to run with (its
	// footprint against it is the oversubscription); 0: the default.
	VRAM    int64
	Regions []TraceRegion
	Events  []TraceEvent
}

// TraceSummary counts what a trace holds.
type TraceSummary struct {
	Regions, Launches, Prefetches, Advice, CPUPhases int
	Items, Entries, CPUTouches                       int
	Accesses                                         uint64
}

// Summary counts what t holds.
func (t *AccessTrace) Summary() TraceSummary {
	s := TraceSummary{Regions: len(t.Regions)}
	for _, e := range t.Events {
		switch e.Kind {
		case TraceLaunchEvent:
			s.Launches++
			s.Items += len(e.Launch.Start) - 1
			s.Entries += len(e.Launch.Accesses)
			for _, a := range e.Launch.Accesses {
				s.Accesses += uint64(a.Count)
			}
		case TracePrefetchEvent:
			s.Prefetches++
		case TraceAdviceEvent:
			s.Advice++
		case TraceCPUEvent:
			s.CPUPhases++
			s.CPUTouches += len(e.CPU)
		}
	}
	return s
}

// ErrBadTrace is wrapped by every error about a malformed trace.
var ErrBadTrace = errors.New("simgpu: malformed access trace")

// Validate checks that every reference in t is in range, so a replay
// cannot touch memory outside its regions.
func (t *AccessTrace) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: %s", ErrBadTrace, fmt.Sprintf(f, a...)) }
	pages := make([]uint64, len(t.Regions))
	for i, r := range t.Regions {
		if r.Size == 0 || r.Size%svm.PageSize != 0 || r.Offset%svm.PageSize != 0 {
			return bad("region %d: size %d, offset %d: want whole pages", i, r.Size, r.Offset)
		}
		pages[i] = r.Size / svm.PageSize
	}
	inRegion := func(what string, reg int, off, n uint64) error {
		if reg < 0 || reg >= len(t.Regions) {
			return bad("%s: region %d of %d", what, reg, len(t.Regions))
		}
		if off+n < off || off+n > t.Regions[reg].Size {
			return bad("%s: [%d, %d) outside region %d (%d bytes)", what, off, off+n, reg, t.Regions[reg].Size)
		}
		return nil
	}
	for ei, e := range t.Events {
		what := fmt.Sprintf("event %d (%s)", ei, e.Kind)
		switch e.Kind {
		case TraceLaunchEvent:
			l := e.Launch
			if l == nil || l.Groups < 1 || l.GroupSize < 1 || l.LocalBytes < 0 || len(l.Start) != l.Groups*l.GroupSize+1 {
				return bad("%s: bad geometry", what)
			}
			for i := 0; i+1 < len(l.Start); i++ {
				if l.Start[i] > l.Start[i+1] {
					return bad("%s: item %d's accesses out of order", what, i)
				}
			}
			if l.Start[0] != 0 || int(l.Start[len(l.Start)-1]) != len(l.Accesses) {
				return bad("%s: item index does not cover the accesses", what)
			}
			for _, r := range l.Ranges {
				if err := inRegion(what+" argument range", r.Region, r.Off, r.Len); err != nil {
					return err
				}
			}
			for _, a := range l.Accesses {
				if int(a.Region) >= len(t.Regions) || uint64(a.Page) >= pages[a.Region] {
					return bad("%s: access to page %d of region %d", what, a.Page, a.Region)
				}
				if a.Kind != TraceRead && a.Kind != TraceWrite && a.Kind != TraceAtomic {
					return bad("%s: access kind %d", what, a.Kind)
				}
			}
		case TracePrefetchEvent:
			if err := inRegion(what, e.Region, e.Off, e.Len); err != nil {
				return err
			}
		case TraceAdviceEvent:
			for _, a := range e.Advice {
				if err := inRegion(what, e.Region, a.Off, a.Len); err != nil {
					return err
				}
			}
		case TraceCPUEvent:
			for _, c := range e.CPU {
				if c.Region < 0 || c.Region >= len(t.Regions) || uint64(c.Page) >= pages[c.Region] {
					return bad("%s: touch of page %d of region %d", what, c.Page, c.Region)
				}
			}
		default:
			return bad("%s: unknown kind", what)
		}
	}
	return nil
}

// The file form: "svmrt-access-trace 1\n", then gzip of unsigned varints
// (strings as a length and bytes), in the order of the fields above.
const traceMagic = "svmrt-access-trace 1\n"

// WriteTo writes t in its file form.
func (t *AccessTrace) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	if _, err := io.WriteString(cw, traceMagic); err != nil {
		return cw.n, err
	}
	z := gzip.NewWriter(cw)
	b := bufio.NewWriterSize(z, 1<<16)
	var buf [binary.MaxVarintLen64]byte
	u := func(v uint64) { b.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	flag := func(v bool) {
		if v {
			u(1)
		} else {
			u(0)
		}
	}
	str := func(s string) { u(uint64(len(s))); b.WriteString(s) }
	str(t.Name)
	u(uint64(t.VRAM))
	u(uint64(len(t.Regions)))
	for _, r := range t.Regions {
		u(r.Size)
		u(r.Offset)
		flag(r.Writable)
	}
	u(uint64(len(t.Events)))
	for _, e := range t.Events {
		u(uint64(e.Kind))
		switch e.Kind {
		case TraceLaunchEvent:
			l := e.Launch
			str(l.Kernel)
			u(uint64(l.Groups))
			u(uint64(l.GroupSize))
			u(uint64(l.LocalBytes))
			u(uint64(len(l.Ranges)))
			for _, r := range l.Ranges {
				u(uint64(r.Region))
				u(r.Off)
				u(r.Len)
			}
			for i := 0; i+1 < len(l.Start); i++ {
				u(uint64(l.Start[i+1] - l.Start[i]))
			}
			for _, a := range l.Accesses {
				u(uint64(a.Region))
				u(uint64(a.Kind))
				u(uint64(a.Page))
				u(uint64(a.Count))
				u(uint64(a.Bytes))
			}
		case TracePrefetchEvent:
			u(uint64(e.Region))
			u(e.Off)
			u(e.Len)
		case TraceAdviceEvent:
			u(uint64(e.Region))
			u(uint64(len(e.Advice)))
			for _, a := range e.Advice {
				u(a.Off)
				u(a.Len)
				flag(a.PreferHost)
				flag(a.PreferDevice)
				flag(a.AccessedByDevice)
				flag(a.ReadMostly)
			}
		case TraceCPUEvent:
			u(uint64(len(e.CPU)))
			for _, c := range e.CPU {
				u(uint64(c.Region))
				u(uint64(c.Page))
				flag(c.Write)
			}
		}
	}
	if err := b.Flush(); err != nil {
		return cw.n, err
	}
	if err := z.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// maxTraceCount bounds every count a trace file declares (events, items,
// accesses), so a corrupt file fails instead of exhausting memory.
const maxTraceCount = 1 << 31

// ReadAccessTrace reads a trace WriteTo wrote and validates it.
func ReadAccessTrace(r io.Reader) (*AccessTrace, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(traceMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != traceMagic {
		return nil, fmt.Errorf("%w: not an svmrt access trace (no %q header)", ErrBadTrace, traceMagic[:len(traceMagic)-1])
	}
	z, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTrace, err)
	}
	zr := bufio.NewReaderSize(z, 1<<16)
	var rerr error
	u := func() uint64 {
		if rerr != nil {
			return 0
		}
		v, err := binary.ReadUvarint(zr)
		if err != nil {
			rerr = fmt.Errorf("%w: truncated: %v", ErrBadTrace, err)
		}
		return v
	}
	count := func(what string) int {
		v := u()
		if v > maxTraceCount && rerr == nil {
			rerr = fmt.Errorf("%w: %d %s", ErrBadTrace, v, what)
		}
		if rerr != nil {
			return 0
		}
		return int(v)
	}
	u32 := func(what string) uint32 {
		v := u()
		if v > 1<<32-1 && rerr == nil {
			rerr = fmt.Errorf("%w: %s %d does not fit 32 bits", ErrBadTrace, what, v)
		}
		return uint32(v)
	}
	str := func() string {
		n := count("string bytes")
		if rerr != nil || n > 1<<16 {
			if rerr == nil {
				rerr = fmt.Errorf("%w: string of %d bytes", ErrBadTrace, n)
			}
			return ""
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(zr, b); err != nil {
			rerr = fmt.Errorf("%w: truncated: %v", ErrBadTrace, err)
		}
		return string(b)
	}
	t := &AccessTrace{Name: str()}
	if v := u(); v > 1<<50 && rerr == nil {
		rerr = fmt.Errorf("%w: device memory of %d bytes", ErrBadTrace, v)
	} else {
		t.VRAM = int64(v)
	}
	nr := count("regions")
	for i := 0; i < nr && rerr == nil; i++ {
		t.Regions = append(t.Regions, TraceRegion{Size: u(), Offset: u(), Writable: u() != 0})
	}
	ne := count("events")
	for i := 0; i < ne && rerr == nil; i++ {
		e := TraceEvent{Kind: TraceEventKind(u())}
		switch e.Kind {
		case TraceLaunchEvent:
			l := &TraceLaunch{Kernel: str(), Groups: count("groups"), GroupSize: count("group size"), LocalBytes: count("local bytes")}
			nranges := count("argument ranges")
			for j := 0; j < nranges && rerr == nil; j++ {
				l.Ranges = append(l.Ranges, TraceRange{Region: count("region"), Off: u(), Len: u()})
			}
			items := l.Groups * l.GroupSize
			if rerr == nil && (l.Groups > 0 && items/l.Groups != l.GroupSize || items > maxTraceCount) {
				rerr = fmt.Errorf("%w: %d groups of %d work-items", ErrBadTrace, l.Groups, l.GroupSize)
			}
			var total uint64
			for j := 0; j < items && rerr == nil; j++ {
				if j == 0 {
					l.Start = make([]uint32, 0, items+1)
					l.Start = append(l.Start, 0)
				}
				total += uint64(count("accesses"))
				if total > maxTraceCount && rerr == nil {
					rerr = fmt.Errorf("%w: %d accesses in one launch", ErrBadTrace, total)
				}
				l.Start = append(l.Start, uint32(total))
			}
			for j := uint64(0); j < total && rerr == nil; j++ {
				reg := u()
				if reg > 1<<16-1 && rerr == nil {
					rerr = fmt.Errorf("%w: region %d", ErrBadTrace, reg)
				}
				l.Accesses = append(l.Accesses, TraceAccess{Region: uint16(reg), Kind: uint8(u()), Page: u32("page"), Count: u32("count"), Bytes: u32("bytes")})
			}
			e.Launch = l
		case TracePrefetchEvent:
			e.Region, e.Off, e.Len = count("region"), u(), u()
		case TraceAdviceEvent:
			e.Region = count("region")
			n := count("advice ranges")
			for j := 0; j < n && rerr == nil; j++ {
				e.Advice = append(e.Advice, TraceAdvice{Off: u(), Len: u(), PreferHost: u() != 0, PreferDevice: u() != 0,
					AccessedByDevice: u() != 0, ReadMostly: u() != 0})
			}
		case TraceCPUEvent:
			n := count("touches")
			for j := 0; j < n && rerr == nil; j++ {
				e.CPU = append(e.CPU, TraceTouch{Region: count("region"), Page: u32("page"), Write: u() != 0})
			}
		default:
			if rerr == nil {
				rerr = fmt.Errorf("%w: event %d has unknown kind %d", ErrBadTrace, i, e.Kind)
			}
		}
		t.Events = append(t.Events, e)
	}
	if rerr == nil {
		// Reading on to the end checks the stream's checksum: a file cut
		// in its trailer, or with bytes after the trace, is refused.
		if _, err := zr.ReadByte(); err == nil {
			rerr = fmt.Errorf("%w: data after the trace", ErrBadTrace)
		} else if err != io.EOF {
			rerr = fmt.Errorf("%w: %v", ErrBadTrace, err)
		}
	}
	if rerr != nil {
		return nil, rerr
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}
