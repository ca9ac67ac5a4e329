package devrt

// SetItemLoops turns the simulated GPU's item loops on (the default) or
// off: off, every kernel runs one trampoline call per work-item.
func SetItemLoops(on bool) { noItemLoops = !on }

// SetFaultsHook makes fn see every SM's faults of every fault round (nil:
// none).
func SetFaultsHook(fn func(s *SM, faults []Fault, digest uint64)) { faultsHook = fn }
