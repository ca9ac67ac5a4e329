package svm

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// The CPU fault log: the CPU's half of a page-access trace. A recorder that
// replays a workload under other memory policies needs to know which
// device-resident pages the CPU touched, in what order, and whether it
// wrote; the device half is the device's own business (the simulated GPU
// records it).
//
// While a log is on, the fault-service thread appends an entry for each
// CPU fault it serves on a page that lives on a device (the fault brings
// it home) or is duplicated (a write collapses the duplicate; a missing
// fault on one): the page and whether the access wrote (a write-protect
// fault is a write). Faults on host pages (zero fills, protection left
// over from an aborted migration) and on device arenas are not accesses to
// device memory and are not logged; a fault deferred while another thread
// owned its page is logged once, when it is served. An entry is in the log
// before the faulting access completes, so a goroutine that drains after
// its accesses finds them all. Explicit migrations home (MigrateToHost,
// Evict, Release) are not CPU faults and are not logged.
//
// Read-ahead is off while a log is on: every fault brings exactly one page
// home, so each first CPU touch of each device page is a fault of its own
// and an entry of its own, in the order the service thread served them —
// for one thread, the order it touched them. That costs a sequential
// reader a fault per page instead of one per window. When the log stops,
// read-ahead resumes with fresh streams (windows grow from one page again,
// as after ResetFaultWindow).
//
// The entries go to a ring of uffd.FaultLogMax (65536) entries in C memory
// with one producer (the service thread) and one consumer (Drain), handed
// over without locks: the producer writes an entry and then publishes its
// index with a release store; Drain loads that index with acquire, reads
// the entries and publishes how far it read with a release store, which
// the producer loads with acquire before it reuses a slot. A full ring
// drops new entries and counts them; Drain reports the count
// (LogOverflowError). When the log is off the fault path pays one relaxed
// load, on the device-page and duplicate paths only.

// CPUFaultEntry is one CPU fault served on a device-resident or duplicated
// page.
//
// Write says what the faulting instruction did, which is the first access
// to the page, not necessarily the one the source shows: a Go store through
// a pointer that a call returned is preceded by the compiler's nil check (a
// load), and the race detector's atomics load first too; such a store
// faults as a read, and the store that follows finds the page home.
type CPUFaultEntry struct {
	Page  uintptr // the page's address (page aligned)
	Write bool    // the access wrote (a missing fault of a store, or a write-protect fault)
}

// CPUFaultLog is the fault log that is on (StartCPUFaultLog). Its methods
// are safe for concurrent use.
type CPUFaultLog struct {
	mu      sync.Mutex // serialises Drain and Stop: the ring has one consumer
	session uint64     // 0 once stopped
	cap     int
	cleanup runtime.Cleanup
}

// LogOverflowError says a CPU fault log's ring filled up between two
// Drains: Lost entries were dropped. It matches ErrLogOverflow.
type LogOverflowError struct {
	Lost     uint64
	Capacity int // entries the ring holds
}

func (e *LogOverflowError) Error() string {
	return fmt.Sprintf("svm: CPU fault log: %d entries lost since the last Drain (the ring holds %d; drain more often): %v", e.Lost, e.Capacity, ErrLogOverflow)
}

func (e *LogOverflowError) Unwrap() error { return ErrLogOverflow }

// StartCPUFaultLog turns the CPU fault log on. Only one log can be on at a
// time: while one is, StartCPUFaultLog fails with an error matching
// ErrBusy. Without userfaultfd (Degraded) nothing migrates and there is
// nothing to log: the error is Degraded's (ErrNotSupported). A log that
// becomes unreachable without Stop is stopped by the garbage collector.
func StartCPUFaultLog() (*CPUFaultLog, error) {
	if err := Default().Degraded(); err != nil {
		return nil, fmt.Errorf("svm: CPU fault log: %w", err)
	}
	session, err := uffd.StartFaultLog()
	switch {
	case errors.Is(err, uffd.ErrFaultLogBusy):
		return nil, fmt.Errorf("svm: start the CPU fault log: %w: only one can be on at a time", ErrBusy)
	case errors.Is(err, uffd.ErrUnavailable):
		return nil, fmt.Errorf("svm: start the CPU fault log: %w: %v", ErrNotSupported, err)
	case err != nil:
		return nil, fmt.Errorf("svm: start the CPU fault log: %w", err)
	}
	l := &CPUFaultLog{session: session, cap: uffd.FaultLogCapacity()}
	l.cleanup = runtime.AddCleanup(l, func(s uint64) { uffd.StopFaultLog(s) }, session)
	return l, nil
}

// Drain appends to dst the entries logged since the last Drain (since the
// start, the first time), in the order the faults were served, and returns
// the extended slice. If the ring overflowed meanwhile, the entries it kept
// are returned with a *LogOverflowError saying how many were lost. After
// Stop it returns dst and an error matching ErrClosed.
func (l *CPUFaultLog) Drain(dst []CPUFaultEntry) ([]CPUFaultEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session == 0 {
		return dst, fmt.Errorf("svm: CPU fault log: Drain after Stop: %w", ErrClosed)
	}
	lost := uffd.DrainFaultLog(func(page uintptr, write bool) {
		dst = append(dst, CPUFaultEntry{Page: page, Write: write})
	})
	if lost > 0 {
		return dst, &LogOverflowError{Lost: lost, Capacity: l.cap}
	}
	return dst, nil
}

// Stop turns the log off; entries not drained are dropped. When it
// returns, no fault is logged any more, read-ahead works again (with fresh
// streams) and another log may start. Stop is idempotent.
func (l *CPUFaultLog) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session == 0 {
		return
	}
	l.cleanup.Stop()
	uffd.StopFaultLog(l.session)
	l.session = 0
}
