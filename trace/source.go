package trace

// Source is a device that writes its own events into a trace (the
// simulated GPU: its fault batches, migrations, evictions, on its clock).
// The runtime discovers it by type assertion and calls SetTrace once,
// right after the device opened and before any command runs on it.
// SyncTrace reports what happened to the device's pages outside its own
// operations that it has not reported yet (CPU faults, pages an explicit
// request brought home); the runtime calls it before it flushes a trace.
type Source interface {
	SetTrace(w *Writer)
	SyncTrace()
}
