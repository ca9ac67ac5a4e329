package simgpu

import (
	"context"
	"fmt"
	"time"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/svm"
)

// The simulated GPU as a backend: its registration, and the contract's
// required methods and capabilities that are not part of a launch.

func init() {
	backends.Register(backends.Driver{
		Name:     "simgpu",
		Order:    20,
		Open:     openDriver,
		Policies: PolicyNames,
	})
}

// openDriver opens the simulated GPU from the runtime's options. There is
// one simulated GPU per name: "simgpu" and "simgpu:0".
func openDriver(index int, cfg backends.Config) (backends.Backend, error) {
	if index != 0 {
		return nil, fmt.Errorf("%w simgpu:%d: there is one simulated GPU, simgpu:0 (open more with distinct names through simgpu.New)", backends.ErrUnknownDevice, index)
	}
	var opts []Option
	if cfg.VRAM > 0 {
		opts = append(opts, WithVRAM(cfg.VRAM))
	}
	if cfg.PCIeGen > 0 {
		opts = append(opts, WithPCIeGen(cfg.PCIeGen))
	}
	if cfg.Progress != nil {
		opts = append(opts, WithProgress(cfg.Progress))
	}
	if cfg.GoBodies {
		opts = append(opts, WithGoBodies())
	}
	if cfg.Policy != "" {
		p, err := PolicyByName(cfg.Policy)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithPolicy(p))
	}
	for _, o := range cfg.Options {
		if so, ok := o.(Option); ok {
			opts = append(opts, so)
		}
	}
	return New(opts...)
}

// Backend says that this option is the simulated GPU's (backends.Option).
func (Option) Backend() string { return "simgpu" }

var (
	_ backends.Backend        = (*Device)(nil)
	_ backends.Migrator       = (*Device)(nil)
	_ backends.MemMigrator    = (*Device)(nil)
	_ backends.MemoryCommands = (*Device)(nil)
	_ backends.Simulator      = (*Device)(nil)
	_ backends.FaultPolicy    = (*Device)(nil)
	_ backends.Releaser       = (*Device)(nil)
	_ backends.Option         = Option(nil)
)

// Info says what the device is and what it can do.
func (d *Device) Info() backends.Info {
	return backends.Info{Name: d.Name(), Caps: d.Caps(), Description: d.Describe()}
}

// Stats returns the device's counters.
func (d *Device) Stats() backends.Stats {
	cpuFaults, h2d, d2h, _ := d.mem.Counters()
	dups, collapses := d.mem.DupCounters()
	return backends.Stats{
		Launches:         d.launches.Load(),
		CompiledLaunches: d.compiledLaunches.Load(),
		DeviceFaults:     d.faults.Load(),
		FaultBatches:     d.batches.Load(),
		PagesH2D:         h2d,
		BytesH2D:         h2d * svm.PageSize,
		PagesD2H:         d2h,
		BytesD2H:         d2h * svm.PageSize,
		CPUFaults:        cpuFaults,
		Evictions:        d.evictions.Load(),
		PagesEvicted:     d.pagesEvicted.Load(),
		PagesPrefetch:    d.pagesPrefetched.Load(),
		ThrashEvents:     d.thrashEvents.Load(),
		Throttles:        d.throttles.Load(),
		Pins:             d.pins.Load(),
		Duplicates:       dups,
		Collapses:        collapses,
		HostTime:         time.Duration(d.hostNs.Load()),
	}
}

// SimStats returns what the simulation counted: its clock, its TLBs, its
// remote accesses.
func (d *Device) SimStats() backends.SimStats {
	return backends.SimStats{
		SimulatedTime:  d.clock.Now(),
		TLBHits:        d.tlbHits.Load(),
		TLBMisses:      d.tlbMisses.Load(),
		RemoteAccesses: d.remote.Load(),
	}
}

// Location is the device as a preferred location for advice.
func (d *Device) Location() svm.Location { return d.mem.Location() }

// Slot is the device's owner id in the page table.
func (d *Device) Slot() int { return d.mem.ID() }

// MigratesOnFault reports whether the device's policy migrates a page a
// device access faults on (RemoteOnly maps it remotely instead).
func (d *Device) MigratesOnFault() bool { return MigratesOnFault(d.cfg.policy) }

// PolicyName names the device's memory policy.
func (d *Device) PolicyName() string { return d.cfg.policy.Name() }

// MigrateMem migrates [p, p+n) to the device, or home when toHost, in the
// caller's order with the device's other commands (clEnqueueSVMMigrateMem).
func (d *Device) MigrateMem(ctx context.Context, p, n uintptr, toHost bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if toHost {
		if d.cfg.rec != nil {
			d.cfg.rec.notRecorded("migration to the host")
		}
		_, err := d.space.MigrateToHost(p, n)
		return err
	}
	_, err := d.Migrate(p, n)
	return err
}

// Release gives back all the device's memory and keeps the device open:
// every page it holds comes home with its data (counted in PagesD2H), read
// duplicates are dropped, every chunk is free, and later launches fault
// back what they touch. It waits for the launch or command running now and
// returns how many pages came home.
func (d *Device) Release() (int, error) {
	var n int
	if d.cfg.rec != nil {
		d.cfg.rec.notRecorded("release")
	}
	err := d.exclusive("release", func(*launch, time.Time) error {
		var err error
		n, err = d.mem.ReleaseAll()
		clear(d.ms.chunks)
		return err
	})
	return n, err
}
