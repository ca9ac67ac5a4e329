package devrt

import "unsafe"

// SetItemLoops turns the simulated GPU's item loops on (the default) or
// off: off, every kernel runs one trampoline call per work-item.
func SetItemLoops(on bool) { noItemLoops = !on }

// SetFaultsHook makes fn see every SM's faults of every fault round (nil:
// none). A simulated GPU collects each SM's faults on the host thread that
// ran it, so fn may be called from several at once, in any order; with
// GOMAXPROCS 1 the calls come in SM order.
func SetFaultsHook(fn func(s *SM, faults []Fault, digest uint64)) { faultsHook = fn }

// GaveUp is how many of the SM's assigned work-items have given a run up
// since they were assigned (a lane that waited with its warp never ran:
// warp_stall).
func (s *SM) GaveUp() int {
	n := 0
	for _, r := range unsafe.Slice(s.c.restarts, int(s.c.nitems)) {
		if r > 0 {
			n++
		}
	}
	return n
}
