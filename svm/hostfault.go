package svm

// ClassifyHostFault names a memory fault the host took at addr on behalf
// of device dev (a device that runs on the host cores and dereferences the
// program's pointers itself), by the mapping there now: ErrDeviceFault for
// unmapped and PROT_NONE memory, ErrPermission for a write to read-only
// memory — the errors a mirroring device reports for the same access.
func ClassifyHostFault(dev string, addr uintptr) *FaultError {
	fe := &FaultError{Device: dev, Addr: addr, Err: ErrDeviceFault}
	// Fresh mappings: mprotect has no event, the cached copy may be stale.
	var v VMA
	ok := false
	maps, rerr := Default().Maps(true)
	if rerr == nil {
		v, ok = maps.Find(addr)
	}
	switch {
	case rerr != nil || !ok:
		fe.Reason = "address not mapped"
	case !v.Read:
		fe.Reason = "mapping is PROT_NONE"
	case !v.Write:
		fe.Write, fe.Reason, fe.Err = true, "mapping is read-only", ErrPermission
	default:
		fe.Reason = "memory fault in " + v.Kind.String() + " mapping"
	}
	return fe
}

// CheckHostRange checks [p, p+n) for device dev before the host touches it
// on the device's behalf (see Maps.CheckRange), against the cached mappings
// and, when they find a problem, against fresh ones (mprotect has no event:
// the cache may be behind).
func CheckHostRange(dev string, p, n uintptr, write bool) error {
	s := Default()
	m, err := s.Maps(false)
	if err != nil {
		return err
	}
	if m.CheckRange(dev, p, n, write) == nil {
		return nil
	}
	if m, err = s.Maps(true); err != nil {
		return err
	}
	return m.CheckRange(dev, p, n, write)
}
