package simgpu

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Recording an access trace (accesstrace.go): a device made WithRecorder
// runs its compiled launches in the device runtime's recording mode — every
// access counted per work-item, page and kind; host pages used where they
// are, so the launch takes no fault and what it records does not depend on
// any policy — and notes its prefetches and the advice in force.
//
// The CPU side comes from svm's CPU fault log, which names each device page
// the CPU touches and whether it wrote, in order. To make that complete,
// after every launch the recording device moves every page of every VA
// block the launch touched onto itself (clipped to the block's mapping):
// then the CPU's first touch of any page a policy could have placed on a
// device — a prefetcher moves pages only within the VA blocks of faulting
// pages — is a fault the log sees. (With the log on, svm brings one page
// home per fault, so no touch hides behind another's read-ahead.) The
// recording device's own counters and clock therefore mean nothing; the
// trace is the result. Its memory must hold those blocks: an eviction
// would send pages home behind the log's back, and fails the recording.

// maxRecordedAccesses bounds a recording's entries (each about 16 bytes):
// a trace holds one per work-item, page and kind.
const maxRecordedAccesses = 64 << 20

// Recorder records what a device does into an AccessTrace; give it to one
// device with WithRecorder, run the workload, then Stop. Only one Recorder
// can be on at a time in a process (svm's CPU fault log is one).
type Recorder struct {
	log *svm.CPUFaultLog

	mu      sync.Mutex // the fields below; taken inside the device's operations
	tr      AccessTrace
	starts  []uintptr       // region i's start address
	ends    []uintptr       // region i's end address
	advice  [][]TraceAdvice // region i's advice as last recorded
	entries int
	touches []svm.CPUFaultEntry // scratch for draining the log
	err     error               // the first error: the recording is unusable
	stopped bool
}

// ErrRecording is wrapped by the errors that make a recording unusable.
var ErrRecording = errors.New("simgpu: cannot record")

// NewRecorder starts a recording named name (the trace's name).
func NewRecorder(name string) (*Recorder, error) {
	log, err := svm.StartCPUFaultLog()
	if err != nil {
		return nil, fmt.Errorf("simgpu: record %s: %w", name, err)
	}
	return &Recorder{log: log, tr: AccessTrace{Name: name}}, nil
}

// WithRecorder makes the device record into r (see Recorder). Its launches
// must be compiled kernels.
func WithRecorder(r *Recorder) Option { return func(c *config) { c.rec = r } }

// Stop ends the recording — the CPU's touches since the device's last
// operation are its last event — and returns the trace, or the error that
// spoiled it.
func (r *Recorder) Stop() (*AccessTrace, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil, fmt.Errorf("simgpu: record %s: stopped already: %w", r.tr.Name, svm.ErrClosed)
	}
	svm.Default().Sync()
	r.cpuPhaseLocked()
	r.stopped = true
	r.log.Stop()
	if r.err != nil {
		return nil, r.err
	}
	tr := r.tr
	if err := tr.Validate(); err != nil {
		return nil, fmt.Errorf("simgpu: record %s: %w", tr.Name, err)
	}
	return &tr, nil
}

func (r *Recorder) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("simgpu: record %s: %w", r.tr.Name, err)
	}
}

// cpuPhase records the CPU's touches since the last call (at the start of
// every device operation, and at Stop).
func (r *Recorder) cpuPhase() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cpuPhaseLocked()
}

func (r *Recorder) cpuPhaseLocked() {
	if r.stopped {
		return
	}
	var err error
	r.touches, err = r.log.Drain(r.touches[:0])
	if err != nil {
		r.fail(err)
	}
	var cpu []TraceTouch
	for _, t := range r.touches {
		reg, ok := r.regionOf(t.Page)
		if !ok {
			continue // never on this device by a recorded operation's doing
		}
		cpu = append(cpu, TraceTouch{Region: reg, Page: uint32((t.Page - r.starts[reg]) / svm.PageSize), Write: t.Write})
	}
	if len(cpu) > 0 {
		r.tr.Events = append(r.tr.Events, TraceEvent{Kind: TraceCPUEvent, CPU: cpu})
	}
}

// regionOf returns the region holding addr.
func (r *Recorder) regionOf(addr uintptr) (int, bool) {
	for i := range r.starts {
		if addr >= r.starts[i] && addr < r.ends[i] {
			return i, true
		}
	}
	return 0, false
}

// region returns the region of the mapping holding addr, adding it.
func (r *Recorder) region(maps *svm.Maps, addr uintptr, blockSize int) (int, error) {
	if i, ok := r.regionOf(addr); ok {
		return i, nil
	}
	v, ok := maps.Find(addr)
	if !ok {
		return 0, fmt.Errorf("%w: address %#x is not mapped", ErrRecording, addr)
	}
	if len(r.starts) == 1<<16 {
		return 0, fmt.Errorf("%w: more than %d mappings", ErrRecording, 1<<16)
	}
	r.starts = append(r.starts, v.Start)
	r.ends = append(r.ends, v.End)
	r.advice = append(r.advice, nil)
	r.tr.Regions = append(r.tr.Regions, TraceRegion{Size: uint64(v.End - v.Start), Offset: uint64(v.Start % uintptr(blockSize)), Writable: v.Write})
	return len(r.starts) - 1, nil
}

// notRecorded spoils the recording: the device did something a trace
// cannot hold (a memory command, a migration home, a release), which the
// recording still performs.
func (r *Recorder) notRecorded(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail(fmt.Errorf("%w: a trace holds launches, prefetches and migrations to the device, advice and CPU touches, not a %s: %w",
		ErrRecording, what, svm.ErrNotSupported))
}

// noteAdvice adds an advice event for each region whose advice changed
// since it was last recorded.
func (r *Recorder) noteAdvice(d *Device, regions []int) {
	for _, reg := range regions {
		var adv []TraceAdvice
		for _, a := range svm.RangeAdvice(r.starts[reg], r.ends[reg]-r.starts[reg]) {
			ta := TraceAdvice{Off: uint64(a.Start - r.starts[reg]), Len: uint64(a.End - a.Start),
				PreferHost: a.Advice.Preferred == svm.LocationHost, PreferDevice: a.Advice.Preferred == d.Location(),
				AccessedByDevice: a.Advice.AccessedByDevice(d.mem.ID()), ReadMostly: a.Advice.ReadMostly}
			if ta != (TraceAdvice{Off: ta.Off, Len: ta.Len}) {
				adv = append(adv, ta)
			}
		}
		if !slices.Equal(adv, r.advice[reg]) {
			r.advice[reg] = adv
			r.tr.Events = append(r.tr.Events, TraceEvent{Kind: TraceAdviceEvent, Region: reg, Advice: adv})
		}
	}
}

// notePrefetch records a prefetch of [start, start+length), mapping by
// mapping.
func (r *Recorder) notePrefetch(d *Device, start, length uintptr) {
	maps, err := d.space.Maps(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.fail(err)
		return
	}
	end := start + length
	for a := start &^ pageMask; a < end; {
		v, ok := maps.Find(a)
		if !ok {
			return // the prefetch itself reports it
		}
		reg, err := r.region(maps, a, d.cfg.cost.VABlockSize)
		if err != nil {
			r.fail(err)
			return
		}
		stop := min(end, v.End)
		r.noteAdvice(d, []int{reg})
		r.tr.Events = append(r.tr.Events, TraceEvent{Kind: TracePrefetchEvent, Region: reg,
			Off: uint64(a - r.starts[reg]), Len: uint64(stop - a)})
		a = stop
	}
}

// noteLaunch turns the SMs' recorded entries of a launch into a launch
// event (with the advice in force before it) and returns the VA blocks it
// touched, each clipped to its mapping.
func (r *Recorder) noteLaunch(d *Device, l *launch, k *kernels.Kernel, nd kernels.NDRange, localBytes int, es []devrt.RecEntry) []addrRange {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries += len(es); r.entries > maxRecordedAccesses {
		r.fail(fmt.Errorf("%w: more than %d page accesses (one per work-item, page and kind)", ErrRecording, maxRecordedAccesses))
		return nil
	}
	block := d.cfg.cost.VABlockSize
	size := nd.GroupSize()
	tl := &TraceLaunch{Kernel: k.Name, Groups: nd.TotalGroups(), GroupSize: size, LocalBytes: localBytes}
	items := tl.Groups * size
	// Group-major item indices from global linear ids: dimension 0 fastest,
	// as devrt numbers both groups and the items in them.
	g := devrt.GeometryOf(nd)
	var gs, ls, ng [3]uint64
	for i := range 3 {
		gs[i], ls[i] = uint64(g.Global[i]), uint64(g.Local[i])
		ng[i] = gs[i] / ls[i]
	}
	index := func(lin uint64) int {
		x, y, z := lin%gs[0], lin/gs[0]%gs[1], lin/(gs[0]*gs[1])
		grp := (z/ls[2]*ng[1]+y/ls[1])*ng[0] + x/ls[0]
		loc := (z%ls[2]*ls[1]+y%ls[1])*ls[0] + x%ls[0]
		return int(grp)*size + int(loc)
	}
	// A counting sort by item keeps each item's entries in their order.
	idx := make([]int32, len(es))
	start := make([]uint32, items+1)
	var regions []int
	blocks := map[uintptr]addrRange{}
	for i, e := range es {
		it := index(e.Item)
		if it < 0 || it >= items {
			r.fail(fmt.Errorf("%w: work-item %d outside the launch's %d", ErrRecording, e.Item, items))
			return nil
		}
		idx[i] = int32(it)
		start[it+1]++
	}
	for i := range items {
		start[i+1] += start[i]
	}
	tl.Start = start
	tl.Accesses = make([]TraceAccess, len(es))
	at := slices.Clone(start[:items])
	for i, e := range es {
		reg, err := r.region(l.maps, e.Page, block)
		if err != nil {
			r.fail(err)
			return nil
		}
		if e.Count > 1<<32-1 || e.Bytes > 1<<32-1 {
			r.fail(fmt.Errorf("%w: work-item %d made %d accesses (%d bytes) to one page", ErrRecording, e.Item, e.Count, e.Bytes))
			return nil
		}
		kind := uint8(TraceRead)
		switch e.Kind {
		case devrt.AccessWrite:
			kind = TraceWrite
		case devrt.AccessAtomic:
			kind = TraceAtomic
		}
		tl.Accesses[at[idx[i]]] = TraceAccess{Region: uint16(reg), Kind: kind, Page: uint32((e.Page - r.starts[reg]) / svm.PageSize),
			Count: uint32(e.Count), Bytes: uint32(e.Bytes)}
		at[idx[i]]++
		if len(regions) == 0 || regions[len(regions)-1] != reg {
			if !slices.Contains(regions, reg) {
				regions = append(regions, reg)
			}
		}
		b := e.Page &^ uintptr(block-1)
		if _, ok := blocks[b]; !ok {
			blocks[b] = addrRange{max(b, r.starts[reg]), min(b+uintptr(block), r.ends[reg])}
		}
	}
	for _, ar := range l.a.Ranges {
		if ar.Len == 0 {
			continue
		}
		reg, err := r.region(l.maps, ar.Start, block)
		if err != nil {
			continue // an argument range nothing reads need not be mapped
		}
		off := uint64(ar.Start - r.starts[reg])
		n := min(uint64(ar.Len), r.tr.Regions[reg].Size-off)
		tl.Ranges = append(tl.Ranges, TraceRange{Region: reg, Off: off, Len: n})
		if !slices.Contains(regions, reg) {
			regions = append(regions, reg)
		}
	}
	slices.Sort(regions)
	r.noteAdvice(d, regions)
	r.tr.Events = append(r.tr.Events, TraceEvent{Kind: TraceLaunchEvent, Launch: tl})
	out := make([]addrRange, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b addrRange) int { return cmp.Compare(a.start, b.start) })
	return out
}

// addrRange is [start, end).
type addrRange struct{ start, end uintptr }

// parkBlocks moves the blocks a recorded launch touched onto the device
// (see the top of this file).
func (r *Recorder) parkBlocks(d *Device, blocks []addrRange) {
	before := d.evictions.Load()
	for _, b := range blocks {
		if err := d.migrate(b.start, b.end-b.start, false); err != nil {
			r.mu.Lock()
			r.fail(err)
			r.mu.Unlock()
			return
		}
	}
	if n := d.evictions.Load() - before; n > 0 {
		r.mu.Lock()
		r.fail(fmt.Errorf("%w: the recording device's memory (%d MiB) cannot hold the blocks the workload touches (%d evictions): record with more device memory",
			ErrRecording, d.cfg.vram>>20, n))
		r.mu.Unlock()
	}
}
