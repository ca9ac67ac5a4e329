package kernels

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// runAll executes every work-group of a launch with RunGroup, one after
// another, and returns the first error.
func runAll(k *Kernel, nd NDRange, a *Args, cfg GroupConfig) error {
	for g := 0; g < nd.TotalGroups(); g++ {
		if err := RunGroup(k, nd, g, a, cfg); err != nil {
			return err
		}
	}
	return nil
}

// within runs f and fails the test if it does not return within d: the
// executor must never hang, whatever the kernel does.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("did not return within %v (hang)", d)
		return nil
	}
}

// countingMem is a Mem that performs every access on host memory (like the
// host path) and counts them, to prove that bodies really go through Mem.
// It is shared by all items of a launch, so it uses atomics throughout.
type countingMem struct {
	loads, stores, atomics atomic.Int64
}

func ptr(addr uintptr) unsafe.Pointer { return hostPtr(addr) }

func (m *countingMem) Load8(addr uintptr) uint8 {
	m.loads.Add(1)
	return *(*uint8)(ptr(addr))
}
func (m *countingMem) Store8(addr uintptr, v uint8) {
	m.stores.Add(1)
	*(*uint8)(ptr(addr)) = v
}
func (m *countingMem) Load32(addr uintptr) uint32 {
	m.loads.Add(1)
	return atomic.LoadUint32((*uint32)(ptr(addr)))
}
func (m *countingMem) Store32(addr uintptr, v uint32) {
	m.stores.Add(1)
	atomic.StoreUint32((*uint32)(ptr(addr)), v)
}
func (m *countingMem) Load64(addr uintptr) uint64 {
	m.loads.Add(1)
	return atomic.LoadUint64((*uint64)(ptr(addr)))
}
func (m *countingMem) Store64(addr uintptr, v uint64) {
	m.stores.Add(1)
	atomic.StoreUint64((*uint64)(ptr(addr)), v)
}
func (m *countingMem) AtomicAdd32(addr uintptr, d uint32) uint32 {
	m.atomics.Add(1)
	return atomic.AddUint32((*uint32)(ptr(addr)), d) - d
}
func (m *countingMem) AtomicCAS32(addr uintptr, old, new uint32) bool {
	m.atomics.Add(1)
	return atomic.CompareAndSwapUint32((*uint32)(ptr(addr)), old, new)
}

func (m *countingMem) total() int64 { return m.loads.Load() + m.stores.Load() + m.atomics.Load() }

// abortMem aborts every access with err.
type abortMem struct{ err error }

func (m abortMem) abort() { panic(&Abort{Err: m.err}) }

func (m abortMem) Load8(uintptr) uint8                      { m.abort(); return 0 }
func (m abortMem) Store8(uintptr, uint8)                    { m.abort() }
func (m abortMem) Load32(uintptr) uint32                    { m.abort(); return 0 }
func (m abortMem) Store32(uintptr, uint32)                  { m.abort() }
func (m abortMem) Load64(uintptr) uint64                    { m.abort(); return 0 }
func (m abortMem) Store64(uintptr, uint64)                  { m.abort() }
func (m abortMem) AtomicAdd32(uintptr, uint32) uint32       { m.abort(); return 0 }
func (m abortMem) AtomicCAS32(uintptr, uint32, uint32) bool { m.abort(); return false }

// countingGate counts Park and Unpark calls and tracks how many items are
// parked right now.
type countingGate struct {
	parks, unparks, parked atomic.Int64
}

func (g *countingGate) Park() { g.parks.Add(1); g.parked.Add(1) }
func (g *countingGate) Unpark(n int) {
	g.unparks.Add(int64(n))
	g.parked.Add(-int64(n))
}

// mode is one way of executing a launch: sequential or concurrent items,
// host-direct or through a counting Mem.
type mode struct {
	name       string
	concurrent bool
	mem        bool
}

var modes = []mode{
	{"seq-host", false, false},
	{"conc-host", true, false},
	{"seq-mem", false, true},
	{"conc-mem", true, true},
}

// config returns the GroupConfig for the mode and the Mem it uses (nil for
// host-direct).
func (m mode) config() (GroupConfig, *countingMem) {
	cfg := GroupConfig{Concurrent: m.concurrent}
	if !m.mem {
		return cfg, nil
	}
	cm := &countingMem{}
	cfg.MemFor = func(int) Mem { return cm }
	return cfg, cm
}

func mustBind(t testing.TB, k *Kernel, vals ...any) *Args {
	t.Helper()
	a, err := Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func approxEqual(a, b, rel float32) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	m := max(a, -a, b, -b, 1)
	return d <= rel*m
}
