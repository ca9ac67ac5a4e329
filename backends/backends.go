// Package backends is the contract between svmrt's runtime and its devices,
// and the registry the runtime opens devices from.
//
// # The contract
//
// A backend implements Backend: its name, what it is and can do (Info),
// kernel launches, counters and Close. Everything else a device may offer
// is an optional capability interface, discovered with a type assertion on
// the Backend value — never by switching on the backend's concrete type:
//
//	ArgChecker      checks the memory a launch names before it is queued
//	MemoryCommands  makes copies and fills itself (a copy engine)
//	Migrator        has private memory pages migrate into (a page-table slot)
//	MemMigrator     runs clEnqueueSVMMigrateMem-style commands itself
//	Releaser        gives back all its memory and stays open
//	HostSync        needs a synchronisation point around host access (Map/Unmap)
//	Simulator       counts what only a simulated device can (TLB, clock)
//	FaultPolicy     says whether a device fault migrates the page
//
// Each backend asserts the interfaces it implements at compile time
// (var _ backends.Migrator = (*Device)(nil)), so a missing method is a
// build error, not a silent loss of a capability.
//
// # The registry
//
// A backend package registers a Driver in its init function; the runtime
// imports the backend packages it ships with, and Open, the device list,
// the CLI and the conformance suite iterate Drivers(). Adding a backend is
// its own package plus one import (or one Register call, as a test does).
//
// Address-range properties (advice, preferred location) are not part of a
// backend: they belong to the address space (package svm), which every
// device consults.
package backends

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Backend is what every device provides.
type Backend interface {
	// Name is the device's name as Open takes it ("cpu", "simgpu",
	// "opencl:1").
	Name() string
	// Info says what the device is and what it can do.
	Info() Info
	// Launch runs kernel k over nd with bound arguments a and returns when
	// it has finished (or failed: the error says where).
	Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error
	// Stats returns the device's cumulative counters.
	Stats() Stats
	// Close releases everything the device took; pages it holds come home.
	// A second Close is an error wrapping svm.ErrClosed.
	Close() error
}

// Info describes a device.
type Info struct {
	Name        string
	Caps        svm.Caps
	Description string // one line: what the device is
}

// Stats are the counters every device reports; fields a device cannot
// observe stay zero. Counters only a simulated device can keep (its TLB,
// its clock) are in SimStats.
type Stats struct {
	Launches         int64
	CompiledLaunches int64 // launches that ran the kernel's compiled OpenCL C
	FastPathLaunches int64 // launches completed by a kernel's hand-written host path
	DeviceFaults     int64 // raw device page faults (before deduplication)
	FaultBatches     int64 // fault batches serviced
	PagesH2D         int64 // pages migrated host -> device
	BytesH2D         int64
	PagesD2H         int64 // pages migrated device -> host (CPU faults and explicit)
	BytesD2H         int64
	CPUFaults        int64         // CPU page faults that brought this device's pages home
	Evictions        int64         // device-memory chunks evicted to make room (their pages written back)
	PagesEvicted     int64         // pages written back by evictions (also counted in PagesD2H)
	PagesPrefetch    int64         // pages migrated by the prefetcher, not by a fault (also in PagesH2D)
	ThrashEvents     int64         // faults on pages the thrashing detector saw bouncing
	Throttles        int64         // thrashing pages kept remote for a launch instead of migrating
	Pins             int64         // thrashing pages pinned to the host
	Duplicates       int64         // read-only duplicates made (read duplication)
	Collapses        int64         // duplicates dropped: a write (CPU or device), eviction, another device taking the page, munmap
	HostTime         time.Duration // wall time spent in launches
}

// SimStats are the counters of a simulated device: what its model saw,
// which no real device reports.
type SimStats struct {
	SimulatedTime  time.Duration // the device clock
	TLBHits        int64
	TLBMisses      int64
	RemoteAccesses int64 // device accesses to host memory over the link
}

// Counters are all of a device's counters: the generic ones and, for a
// simulated device, its own (zero elsewhere), comparable as one value.
type Counters struct {
	Stats
	SimStats
}

// CountersOf reads all of b's counters now.
func CountersOf(b Backend) Counters {
	c := Counters{Stats: b.Stats()}
	if s, ok := b.(Simulator); ok {
		c.SimStats = s.SimStats()
	}
	return c
}

// Progress reports how far a long launch has got (simulated devices report
// after every wave of work-groups).
type Progress struct {
	Kernel       string
	Wave, Waves  int           // waves done, waves in the launch
	DeviceFaults int64         // device faults so far (all launches)
	Simulated    time.Duration // device clock now
	Elapsed      time.Duration // host time since the launch started
}

// ArgChecker is a device that dereferences the program's pointers itself
// (the host cores): the runtime calls CheckArgs before queueing a launch,
// so memory a launch names that the device must not touch is an error at
// once. Devices that mirror the address space check each access instead.
type ArgChecker interface {
	CheckArgs(k *kernels.Kernel, a *kernels.Args) error
}

// MemoryCommands is a device that makes copies and fills itself (a copy
// engine, clEnqueueSVMMemcpy/MemFill); on the others the host makes them.
type MemoryCommands interface {
	Copy(ctx context.Context, dst, src, n uintptr) error
	Fill(ctx context.Context, dst uintptr, pattern []byte, n uintptr) error
}

// Migrator is a device with private memory that pages migrate into.
type Migrator interface {
	// Location is the device as a preferred location for advice.
	Location() svm.Location
	// Slot is the device's owner id in the page table (svm.DevMem.ID).
	Slot() int
	// Prefetch migrates [start, start+n) ahead of use; pages that cannot
	// migrate are left in place (mapped on fault).
	Prefetch(start, n uintptr) error
	// Migrate moves [start, start+n) into device memory now and says how
	// many pages moved.
	Migrate(start, n uintptr) (int, error)
}

// MemMigrator is a device that runs explicit migration commands itself
// (clEnqueueSVMMigrateMem: to the device, or to the host when toHost).
type MemMigrator interface {
	MigrateMem(ctx context.Context, p, n uintptr, toHost bool) error
}

// Releaser is a device that can give back all its memory and stay open:
// every page it holds comes home with its data.
type Releaser interface {
	Release() (int, error)
}

// HostSync is a device that needs to know when the host starts and ends
// accessing memory (clEnqueueSVMMap/Unmap as synchronisation points).
type HostSync interface {
	Map(ctx context.Context, p, n uintptr) error
	Unmap(ctx context.Context, p, n uintptr) error
}

// Simulator is a simulated device.
type Simulator interface {
	SimStats() SimStats
}

// FaultPolicy is a device whose memory policy decides what a device fault
// does: MigratesOnFault is false when faulting pages are mapped remotely
// instead of migrating, and PolicyName names the policy.
type FaultPolicy interface {
	MigratesOnFault() bool
	PolicyName() string
}

// Option is a backend-specific option (simgpu.WithTLBEntries,
// opencl.WithMode, ...), passed through the runtime's WithBackendOptions.
// Backend names the driver that understands it; other drivers ignore it.
type Option interface {
	Backend() string
}

// Config is what the runtime's Open options say, for the driver to apply.
// Drivers use the fields that make sense for them and ignore the rest.
type Config struct {
	VRAM        int64  // device memory size in bytes (simulated devices)
	PCIeGen     int    // link generation (simulated devices)
	Workers     int    // host goroutines (host devices)
	GoBodies    bool   // run kernels' Go bodies instead of their compiled source
	NoFastPaths bool   // skip kernels' hand-written host paths
	Policy      string // memory policy by name (Driver.Policies; the driver rejects others)
	BufferMode  bool   // stage what launches name in device buffers (devices that can choose)
	Progress    func(Progress)
	Options     []Option // backend-specific options, for the driver named by each
}

// Driver is one kind of device.
type Driver struct {
	// Name is the kind, as Open takes it: "cpu"; "opencl" and "opencl:N"
	// for the N-th device of a kind with several.
	Name string
	// Order places the kind in listings (lower first, then by name): the
	// order of init functions is an accident of import paths.
	Order int
	// Devices lists the devices of this kind present here, by name. A kind
	// with none returns an error saying why (no platform, no toolchain).
	Devices func() ([]string, error)
	// Open opens the index-th device of this kind.
	Open func(index int, cfg Config) (Backend, error)
	// Policies lists the memory policies Config.Policy accepts (nil when
	// the kind has none).
	Policies func() []string
}

// ErrUnknownDevice is wrapped by Open for a name no driver knows, or an
// index beyond a kind's devices.
var ErrUnknownDevice = errors.New("unknown device")

var registry struct {
	mu      sync.Mutex
	drivers []Driver
}

// Register adds a driver. It panics on a driver without a name or Open, or
// a name already registered: both are programming errors found at init.
func Register(d Driver) {
	if d.Name == "" || d.Open == nil || strings.ContainsRune(d.Name, ':') {
		panic(fmt.Sprintf("backends: Register: driver %q needs a name without ':' and an Open function", d.Name))
	}
	if d.Devices == nil {
		name := d.Name
		d.Devices = func() ([]string, error) { return []string{name}, nil }
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for _, o := range registry.drivers {
		if o.Name == d.Name {
			panic(fmt.Sprintf("backends: Register: driver %q registered twice", d.Name))
		}
	}
	registry.drivers = append(registry.drivers, d)
}

// Unregister removes a driver (for tests that register their own).
func Unregister(name string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.drivers = slices.DeleteFunc(registry.drivers, func(d Driver) bool { return d.Name == name })
}

// Drivers returns the registered drivers by Order, then name.
func Drivers() []Driver {
	registry.mu.Lock()
	ds := slices.Clone(registry.drivers)
	registry.mu.Unlock()
	slices.SortFunc(ds, func(a, b Driver) int {
		if a.Order != b.Order {
			return cmp.Compare(a.Order, b.Order)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return ds
}

// Lookup finds the driver for a device name ("simgpu", "opencl:2") and the
// device's index within its kind. Names are case-insensitive.
func Lookup(name string) (Driver, int, error) {
	kind, index := strings.ToLower(name), 0
	if k, n, ok := strings.Cut(kind, ":"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 {
			return Driver{}, 0, fmt.Errorf("%w %q: the index after ':' must be a number >= 0", ErrUnknownDevice, name)
		}
		kind, index = k, i
	}
	for _, d := range Drivers() {
		if d.Name == kind {
			return d, index, nil
		}
	}
	var known []string
	for _, d := range Drivers() {
		known = append(known, d.Name)
	}
	return Driver{}, 0, fmt.Errorf("%w %q (known: %s)", ErrUnknownDevice, name, strings.Join(known, ", "))
}
