package uffd

/*
#include "svmcore.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The CPU fault log's C half (svmcore.c, "the CPU fault log"): while a log
// is on, the fault-service thread appends an entry for each CPU fault it
// serves on a device-resident or duplicated page to a ring, and every
// bring-back moves one page. The service thread is the ring's only
// producer; DrainFaultLog is its only consumer (the caller serialises its
// calls).

// FaultLogMax is the ring's largest (and default) capacity in entries.
const FaultLogMax = C.SVM_FLOG_MAX

// ErrFaultLogBusy: another fault log is on (or still stopping).
var ErrFaultLogBusy = errors.New("a CPU fault log is already on")

// StartFaultLog turns the log on with an empty ring and returns its
// session (what StopFaultLog takes).
func StartFaultLog() (session uint64, err error) {
	if !opened.Load() {
		return 0, ErrUnavailable
	}
	r := int64(C.svm_flog_start())
	switch {
	case r > 0:
		return uint64(r), nil
	case r == -int64(syscall.EBUSY):
		return 0, ErrFaultLogBusy
	default:
		return 0, fmt.Errorf("start the CPU fault log: %w", syscall.Errno(-r))
	}
}

// StopFaultLog turns session's log off, waits until no entry of it can
// still be appended (the service thread finishes the iteration it is in)
// and frees the log for the next start; read-ahead starts afresh. It
// returns false, doing nothing, when session is not on (stopped already).
func StopFaultLog(session uint64) bool {
	if C.svm_flog_off(C.uint64_t(session)) == 0 {
		return false
	}
	// An append that loaded the session before it went off is in the
	// service thread's current iteration; the next start would reset the
	// indices under it.
	Sync()
	C.svm_flog_release(C.uint64_t(session))
	return true
}

// FaultLogCapacity is the ring's capacity in the session that is on.
func FaultLogCapacity() int { return int(C.svm_flog_ptr().cap) }

// SetFaultLogCapacity sets the ring's capacity for the next StartFaultLog
// (a test hook: a small ring overflows quickly): a power of two up to
// FaultLogMax, or 0 for FaultLogMax.
func SetFaultLogCapacity(n int) error {
	if n < 0 || C.svm_flog_set_cap(C.uint64_t(n)) != 0 {
		return fmt.Errorf("CPU fault log capacity %d: want a power of two up to %d (0: %d)", n, FaultLogMax, FaultLogMax)
	}
	return nil
}

// DrainFaultLog calls each for every entry appended since the last drain,
// in the order they were appended, and returns how many entries a full
// ring dropped meanwhile. Only one goroutine may drain at a time, and only
// while its session is on.
//
// The hand-off (svmcore.h): head is loaded with acquire, so the entries
// below it are written; the entries are read; tail is stored with release,
// so the producer, which loads tail with acquire, overwrites those slots
// only after they were read.
func DrainFaultLog(each func(page uintptr, write bool)) (lost uint64) {
	l := C.svm_flog_ptr()
	head := atomic.LoadUint64((*uint64)(unsafe.Pointer(&l.head)))
	tailp := (*uint64)(unsafe.Pointer(&l.tail))
	tail := atomic.LoadUint64(tailp) // written by the consumer only: this one
	mask := uint64(l.cap) - 1
	ring := unsafe.Slice((*uint64)(unsafe.Pointer(l.ring)), FaultLogMax)
	for ; tail != head; tail++ {
		e := ring[tail&mask]
		each(uintptr(e&^C.SVM_FLOG_WRITE), e&C.SVM_FLOG_WRITE != 0)
	}
	atomic.StoreUint64(tailp, tail)
	return atomic.SwapUint64((*uint64)(unsafe.Pointer(&l.lost)), 0)
}
