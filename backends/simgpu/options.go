package simgpu

import "github.com/svmrt/svmrt/backends"

// Device configuration: the config New builds from its Options, and the
// general options. Options of other concepts live beside them: WithPolicy
// (policy.go), WithGoBodies (compiled.go), WithWarpSize and WithSMTLB
// (simt.go), and — only with the build tag svmrt_testhooks — WithBugs
// (bugs_hooks.go).

// DefaultVRAM is the default device memory size.
const DefaultVRAM = 256 << 20

type config struct {
	bugs       bugs // test-only hooks (bugs_hooks.go); empty without svmrt_testhooks
	name       string
	vram       int64
	cost       CostModel
	tlbEntries int
	progress   func(Progress)
	policy     Policy
	rec        *Recorder // WithRecorder (record.go)

	// Compiled kernels (simt.go).
	warp                    int
	smTLBEntries, smTLBWays int
	goBodies                bool
}

// Progress reports how far a launch has got; see WithProgress.
type Progress = backends.Progress

// WithProgress calls fn after every wave of every launch (from the
// launching goroutine; keep it cheap).
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// Option configures a Device.
type Option func(*config)

// WithVRAM sets the device memory size in bytes (default 256 MiB).
func WithVRAM(bytes int64) Option { return func(c *config) { c.vram = bytes } }

// WithPCIeGen selects the simulated link generation: 3, 4 or 5.
func WithPCIeGen(gen int) Option { return func(c *config) { c.cost.PCIeGen = gen } }

// WithCostModel replaces the whole cost model.
func WithCostModel(m CostModel) Option { return func(c *config) { c.cost = m } }

// WithName sets the device name (default "simgpu").
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithTLBEntries sets the per-work-item TLB size of Go-body kernels
// (default DefaultTLBEntries); compiled kernels use the SM TLB (WithSMTLB).
func WithTLBEntries(n int) Option { return func(c *config) { c.tlbEntries = n } }
