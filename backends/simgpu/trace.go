package simgpu

import (
	"strconv"
	"sync"
	"time"

	"github.com/svmrt/svmrt/svm"
	"github.com/svmrt/svmrt/trace"
)

// The device's trace (package trace): its commands, fault batches,
// migrations and policy actions as events on its simulated clock, and the
// CPU faults on its pages on the host side. A device without a trace has a
// nil tracer, and every event site is one nil check.
//
// Page movements are not traced where they happen — the svm core and its C
// service thread move pages — but from the core's counters: after every
// fault batch and device command, and for what happened in between (CPU
// faults, an explicit MigrateToHost) at the start of the next operation,
// at Close and when the runtime flushes. Every page the counters saw is in
// exactly one event, so a trace's sums equal Stats.

var _ trace.Source = (*Device)(nil)

// tracer writes one device's events.
type tracer struct {
	w *trace.Writer
	// Tracks of the device's process (simulated clock).
	commands, batches, moves, policy, memory trace.Track
	// Tracks of the host process (host clock).
	cpu trace.Track

	mu   sync.Mutex    // protects seen and seenAt
	seen traceCounters // what earlier events reported
	// seenAt is the host time of the last look at the counters: a CPU
	// fault reported now happened between it and now.
	seenAt time.Duration
}

// traceCounters are the counters a trace reports as they change.
type traceCounters struct {
	h2d, d2h, cpuFaults, faultPages, dups, collapses int64
	throttles, pins                                  int64
}

func (d *Device) traceCounters() traceCounters {
	cpuFaults, h2d, d2h, _ := d.mem.Counters()
	_, faultPages := d.mem.FaultCounters()
	dups, collapses := d.mem.DupCounters()
	return traceCounters{h2d: h2d, d2h: d2h, cpuFaults: cpuFaults, faultPages: faultPages, dups: dups, collapses: collapses,
		throttles: d.throttles.Load(), pins: d.pins.Load()}
}

// SetTrace makes the device write its events to w (trace.Source). Call it
// before the device's first operation, once.
func (d *Device) SetTrace(w *trace.Writer) {
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	p := w.NewProcess(d.Name()+" (simulated clock)", 10+d.mem.ID())
	host := w.Process("host (host clock)", 0)
	t := &tracer{
		w:        w,
		commands: p.Thread("commands", 0),
		batches:  p.Thread("fault batches", 1),
		moves:    p.Thread("migrations", 2),
		policy:   p.Thread("policy", 3),
		memory:   p.Thread("device memory", 4),
		cpu:      host.NewThread("CPU faults on "+d.Name(), 1000+d.mem.ID()), // a track per device: windows of two devices may overlap,
		seen:     d.traceCounters(),
		seenAt:   w.Since(),
	}
	d.tr = t
}

// SyncTrace reports what the counters saw since the device's last event
// (trace.Source): CPU faults on its pages, pages an explicit request
// brought home.
func (d *Device) SyncTrace() {
	if d.tr == nil {
		return
	}
	now := d.clock.Now()
	d.tr.account(d, "host activity", now, now)
}

// account writes events for what the counters changed since the last
// look, between simulated times start and end (the span the work that
// changed them took on the clock): pages moved each way, CPU faults, read
// duplicates made and dropped, throttles and pins.
func (t *tracer) account(d *Device, cause string, start, end time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, host := d.traceCounters(), t.w.Since()
	was := t.seen
	t.seen = now
	hostAt := trace.Micros("host_us", host)
	dur := end - start
	if n := now.h2d - was.h2d; n > 0 {
		t.moves.Span("host→device", "migration", start, dur, trace.Int("pages", n), trace.Int("bytes", n*svm.PageSize), trace.String("cause", cause), hostAt)
	}
	faults, faultPages := now.cpuFaults-was.cpuFaults, now.faultPages-was.faultPages
	if n := now.d2h - was.d2h - faultPages; n > 0 {
		t.moves.Span("device→host", "migration", start, dur, trace.Int("pages", n), trace.Int("bytes", n*svm.PageSize), trace.String("cause", cause), hostAt)
	}
	if faults > 0 || faultPages > 0 {
		// The C service thread resolved them between the last look and
		// now: on the host clock that window; on the device's, the time
		// its next operation was charged for them (chargeHostActivity).
		t.moves.Span("device→host (CPU faults)", "cpu-fault", start, dur, trace.Int("pages", faultPages), trace.Int("bytes", faultPages*svm.PageSize), trace.Int("cpu_faults", faults), hostAt)
		t.cpu.Span("CPU faults on "+d.Name(), "cpu-fault", t.seenAt, host-t.seenAt, trace.Int("cpu_faults", faults), trace.Int("pages", faultPages), trace.Micros("sim_us", start))
	}
	if n := now.dups - was.dups; n > 0 {
		t.policy.Span("read-duplicate", "policy", start, dur, trace.Int("pages", n), hostAt)
	}
	if n := now.collapses - was.collapses; n > 0 {
		t.policy.Instant("duplicates dropped", "policy", end, trace.Int("pages", n), hostAt)
	}
	if n := now.throttles - was.throttles; n > 0 {
		t.policy.Instant("throttle", "policy", end, trace.Int("pages", n), hostAt)
	}
	if n := now.pins - was.pins; n > 0 {
		t.policy.Instant("pin to host", "policy", end, trace.Int("pages", n), hostAt)
	}
	if now != was {
		t.memory.Counter("resident pages", end, trace.Int("pages", int64(d.mem.HeldFrames())))
	}
	t.seenAt = host
}

// traceOperation starts tracing a device operation named what, begun at
// simulated time sim and host time host; the function it returns writes
// it when it ends, with what it did (launchMu held throughout).
func (d *Device) traceOperation(what string, sim time.Duration, host time.Time) func() {
	faults, batches := d.faults.Load(), d.batches.Load()
	evictions := d.evictions.Load()
	return func() {
		end := d.clock.Now()
		d.tr.account(d, what, sim, end)
		d.tr.command(what, sim, end, host, trace.Int("faults", d.faults.Load()-faults), trace.Int("batches", d.batches.Load()-batches),
			trace.Int("evictions", d.evictions.Load()-evictions))
	}
}

// batch writes a serviced fault batch named name (a copy's fault request
// serviced in several pieces is one batch and more pieces), with the
// page movements it made.
func (t *tracer) batch(d *Device, name string, b Batch, start, end time.Duration) {
	t.batches.Span(name, "fault", start, end-start, trace.Int("faults", int64(b.Raw)), trace.Int("pages", int64(len(b.Pages))),
		trace.Micros("host_us", t.w.Since()))
	t.account(d, "fault batch", start, end)
}

// evict writes an eviction of the chunk of VA block block.
func (t *tracer) evict(block uint64, written, dropped int, start, end time.Duration) {
	t.policy.Span("evict", "policy", start, end-start, trace.String("block", hexAddr(block)), trace.Int("pages_written", int64(written)),
		trace.Int("pages_dropped", int64(dropped)), trace.Micros("host_us", t.w.Since()))
}

// command writes one device operation (a launch, a copy, an explicit
// migration) from simulated start to end, with its host time.
func (t *tracer) command(what string, start, end time.Duration, hostStart time.Time, args ...trace.Arg) {
	hs := t.w.Since() - time.Since(hostStart)
	args = append(args, trace.Micros("host_us", hs), trace.Micros("host_dur_us", time.Since(hostStart)))
	t.commands.Span(what, "command", start, end-start, args...)
}

func hexAddr(a uint64) string { return "0x" + strconv.FormatUint(a, 16) }
