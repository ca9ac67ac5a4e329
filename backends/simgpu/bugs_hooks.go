//go:build svmrt_testhooks

package simgpu

// Test-only bug hooks, compiled only with the build tag svmrt_testhooks
// (go test -tags svmrt_testhooks): without it the package has no Bugs and
// no WithBugs, and bugs (bugs_off.go) answers false to everything, so the
// broken paths compile to nothing.

// Bugs are deliberately broken behaviours, for showing that a test suite
// (the conformance suite) catches them. Never use them otherwise.
type Bugs struct {
	// IgnoreProtection: device writes ignore the CPU mapping's protection
	// (no ErrPermission; the write is attempted).
	IgnoreProtection bool
	// WideByteStores: a byte store writes its whole aligned 4-byte word,
	// zeroing the other three bytes (breaks byte granularity).
	WideByteStores bool
	// TrustPageTable: translations of device-resident pages are not
	// re-validated against the CPU mappings (a device that never notices
	// munmap or mprotect by itself).
	TrustPageTable bool
}

// WithBugs makes the device deliberately wrong (see Bugs).
func WithBugs(b Bugs) Option { return func(c *config) { c.bugs.b = b } }

// bugs is the device's set of Bugs (config.bugs), and the tests' hook
// into a compiled launch's fault rounds.
type bugs struct {
	b Bugs
	// afterService runs after each fault round's service, before the
	// waiting work-items resume (withAfterService).
	afterService func()
}

// withAfterService makes fn run after every fault round's service of a
// compiled launch, before its work-items resume: a test's stand-in for
// the host touching a page at the worst moment.
func withAfterService(fn func()) Option { return func(c *config) { c.bugs.afterService = fn } }

func (b bugs) serviced() {
	if b.afterService != nil {
		b.afterService()
	}
}

func (b bugs) ignoreProtection() bool { return b.b.IgnoreProtection }
func (b bugs) wideByteStores() bool   { return b.b.WideByteStores }
func (b bugs) trustPageTable() bool   { return b.b.TrustPageTable }
