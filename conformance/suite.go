// Package conformance is svmrt's conformance suite: named behaviours of
// HMM-style mirroring (a device reading and writing process memory through
// its own page table, migration, protections, address-space changes) and of
// OpenCL 2.0 fine-grained system SVM (kernels on raw host pointers, byte
// granularity, pointers followed through memory, host/device atomics), run
// unchanged against every device the runtime can open.
//
// Each test states the behaviour it checks and fails when the behaviour is
// broken. A backend that lacks a capability a test needs (a coherent CPU
// device has nothing to migrate; a process without userfaultfd cannot
// migrate) skips that test with the reason — never a silent pass.
//
// Run it with `go test ./conformance/...` (every backend that opens here) or
// `svmrt conform` (a table per test and backend, or --json).
package conformance

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/svmrt/svmrt/backends"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Backend opens devices of one kind. Open may be called several times
// (tests that need two devices open two).
type Backend struct {
	Name string
	Open func() (*svmrt.Device, error)
}

// Backends returns every backend the runtime knows. When OpenCL is
// available it is tested twice: "opencl", in the mode its probe picks
// (pass-through on PoCL's CPU device), and "opencl/buffer", forced into
// buffer mode (opencl.ModeBuffer: every range a launch names is staged into
// SVM buffers, as on a device that cannot access host memory), so the path
// a discrete GPU takes is tested on every machine with PoCL.
func Backends() []Backend {
	var bs []Backend
	for _, name := range svmrt.DeviceNames() {
		bs = append(bs, Backend{Name: name, Open: func() (*svmrt.Device, error) {
			return svmrt.Open(name, svmrt.WithVRAM(64<<20))
		}})
		if name == "opencl" {
			bs = append(bs, OpenCLBuffer())
		}
	}
	return bs
}

// OpenCLBuffer is OpenCL device 0 forced into buffer mode.
func OpenCLBuffer() Backend {
	return Backend{Name: "opencl/buffer", Open: func() (*svmrt.Device, error) {
		return svmrt.Open("opencl", svmrt.WithBufferMode())
	}}
}

// Test is one named behaviour.
type Test struct {
	Name string // "hmm/..." or "svm/..."
	Doc  string // the behaviour, in one sentence
	Run  func(c *C)
}

// Status of one test on one backend.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result of one test on one backend.
type Result struct {
	Backend  string        `json:"backend"`
	Test     string        `json:"test"`
	Status   Status        `json:"status"`
	Reason   string        `json:"reason,omitempty"` // why it failed or was skipped
	Duration time.Duration `json:"duration_ns"`
}

// C is a test's handle: its device, context and verdict.
type C struct {
	Ctx     context.Context
	backend Backend
	dev     *svmrt.Device
	extra   []*svmrt.Device

	mu      sync.Mutex
	failed  bool
	skipped bool
	reason  []string
	cleanup []func()
	gone    [][2]uintptr // ranges the test unmapped itself (see unmapped)
}

// Dev is the device under test.
func (c *C) Dev() *svmrt.Device { return c.dev }

// Backend is the name of the backend under test.
func (c *C) Backend() string { return c.backend.Name }

// OpenAnother opens a second device of the same backend (closed after the
// test); the test is skipped if the backend cannot open two.
func (c *C) OpenAnother() *svmrt.Device {
	d, err := c.backend.Open()
	if err != nil {
		c.Skipf("cannot open a second %s device: %v", c.backend.Name, err)
	}
	c.mu.Lock()
	c.extra = append(c.extra, d)
	c.mu.Unlock()
	return d
}

// Cleanup registers f to run after the test.
func (c *C) Cleanup(f func()) {
	c.mu.Lock()
	c.cleanup = append(c.cleanup, f)
	c.mu.Unlock()
}

// Errorf records a failure and continues.
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	c.failed = true
	c.reason = append(c.reason, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// Fatalf records a failure and ends the test (call it from the test's own
// goroutine, like testing.T.Fatalf).
func (c *C) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the test as skipped, with the reason.
func (c *C) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = true
	c.reason = append(c.reason, fmt.Sprintf(format, args...))
	c.mu.Unlock()
	runtime.Goexit()
}

// Check fails the test with the message if err is not nil.
func (c *C) Check(err error, what string) {
	if err != nil {
		c.Fatalf("%s: %v", what, err)
	}
}

// Capabilities a test can require.

// RequireMigration skips unless pages can migrate into the device's memory.
func (c *C) RequireMigration() {
	if why := whyNoMigration(c.dev, c.backend.Name, openCLNote(c)); why != "" {
		c.Skipf("%s", why)
	}
}

// whyNoMigration says why dev does not move a page it faults on into its
// own memory ("" when it does): it has no such memory, pages cannot migrate
// in this process, or its memory policy maps faulting pages remotely. name
// and note go into the reason.
func whyNoMigration(dev *svmrt.Device, name, note string) string {
	info := dev.Info()
	if !info.Caps.PrivateMemory {
		if !info.Caps.Coherent {
			return fmt.Sprintf("%s has no device memory pages migrate into: it works on staged copies of what a launch names, nothing migrates%s", name, note)
		}
		return fmt.Sprintf("%s has no device memory: it accesses host memory directly, nothing migrates%s", name, note)
	}
	if err := svmrt.Degraded(); err != nil {
		return fmt.Sprintf("pages cannot migrate in this process: %v", err)
	}
	if p, ok := dev.Backend().(backends.FaultPolicy); ok && !p.MigratesOnFault() {
		return fmt.Sprintf("%s's memory policy %q maps faulting pages remotely, never migrates them", name, p.PolicyName())
	}
	return ""
}

// migratesOnFault reports whether dev moves a page it faults on into its
// own memory (see whyNoMigration).
func migratesOnFault(dev *svmrt.Device) bool { return whyNoMigration(dev, dev.Name(), "") == "" }

// RequireFaults skips unless the device mirrors the address space through
// its own page table and reports the faults it takes.
func (c *C) RequireFaults() {
	if !c.dev.Info().Caps.Faults {
		c.Skipf("%s takes no device page faults (it uses the CPU's page table)%s", c.backend.Name, openCLNote(c))
	}
}

// RequireCoherent skips unless host and device can work on the same
// memory at the same time: the device accesses host memory directly
// (Coherent) or mirrors it through its own page table (Faults). A device
// that works on staged copies (an OpenCL device in buffer mode) sees the
// host's writes only at launch and shows its own only when the launch
// completes: a kernel spinning on a flag the host writes would never end,
// and concurrent host updates of a range the launch writes are overwritten
// by the copy-back. The test skips before launching anything.
func (c *C) RequireCoherent() {
	caps := c.dev.Info().Caps
	if !caps.Coherent && !caps.Faults {
		c.Skipf("%s is not coherent with the host while a kernel runs: it works on copies of the ranges a launch names, staged in before and copied back after%s", c.backend.Name, openCLNote(c))
	}
}

// SkipIfCannotFollow skips the test when err says the device cannot reach
// memory a launch does not name (svmrt.ErrNotSupported from a device that
// works on staged copies: a pointer of unknown extent, or memory holding
// pointers the kernel follows), with the error as the reason. Any other
// error is left to the test.
func (c *C) SkipIfCannotFollow(err error) {
	caps := c.dev.Info().Caps
	if err != nil && errors.Is(err, svmrt.ErrNotSupported) && !caps.Coherent && !caps.Faults {
		c.Skipf("%s cannot follow pointers into memory a launch does not name: %v", c.backend.Name, err)
	}
}

// openCLNote explains, on an OpenCL device, why the runtime cannot do
// more: OpenCL exposes neither device page faults nor page migration; and
// how the device reaches the program's memory.
func openCLNote(c *C) string {
	if !strings.HasPrefix(c.dev.Name(), "opencl") {
		return ""
	}
	if !c.dev.Info().Caps.Coherent {
		return " (OpenCL exposes no device page faults or page migration to the runtime; this device runs in buffer mode, on SVM buffers)"
	}
	return " (OpenCL exposes no device page faults or page migration to the runtime; PoCL's CPU device runs kernels on host memory)"
}

// ErrTimeout is the reason of a test that did not finish in time.
var ErrTimeout = errors.New("conformance: test did not finish in time")

// Options for Run.
type Options struct {
	Filter   *regexp.Regexp // run only tests whose name matches
	Timeout  time.Duration  // per test (default 2 minutes)
	Progress func(r Result) // called after each test
}

// Run runs tests on every backend and returns one result per pair, in
// backend then test order.
func Run(ctx context.Context, backends []Backend, tests []Test, opt Options) []Result {
	if opt.Timeout == 0 {
		opt.Timeout = 2 * time.Minute
	}
	out := []Result{}
	for _, b := range backends {
		for _, t := range tests {
			if opt.Filter != nil && !opt.Filter.MatchString(t.Name) {
				continue
			}
			if ctx.Err() != nil {
				return out // cancelled: start nothing more
			}
			r := RunOne(ctx, b, t, opt.Timeout)
			if opt.Progress != nil {
				opt.Progress(r)
			}
			out = append(out, r)
		}
	}
	return out
}

// RunOne runs one test on a fresh device of backend b.
func RunOne(ctx context.Context, b Backend, t Test, timeout time.Duration) Result {
	start := time.Now()
	r := Result{Backend: b.Name, Test: t.Name}
	dev, err := b.Open()
	if err != nil {
		r.Status, r.Reason = Skip, fmt.Sprintf("cannot open %s: %v", b.Name, err)
		return r
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &C{Ctx: tctx, backend: b, dev: dev}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				c.Errorf("panic: %v", p)
			}
		}()
		t.Run(c)
	}()
	select {
	case <-done:
	case <-tctx.Done():
		if ctx.Err() != nil {
			c.Errorf("cancelled: %v", context.Cause(ctx))
		} else {
			c.Errorf("%v after %v", ErrTimeout, timeout)
		}
	}
	c.mu.Lock()
	cleanup := c.cleanup
	c.mu.Unlock()
	select {
	case <-done:
		for i := len(cleanup) - 1; i >= 0; i-- {
			c.runCleanup(cleanup[i])
		}
		for _, d := range c.extra {
			d.Close()
		}
		dev.Close()
	default:
		// A hung test keeps its device: closing it under a running
		// kernel could hang the runner too.
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.failed:
		r.Status = Fail
	case c.skipped:
		r.Status = Skip
	default:
		r.Status = Pass
	}
	r.Reason = strings.Join(c.reason, "; ")
	r.Duration = time.Since(start)
	return r
}

// runCleanup runs f in its own goroutine, so that a cleanup that fails
// the test (Fatalf ends its goroutine) or panics is recorded, not fatal to
// the runner.
func (c *C) runCleanup(f func()) {
	done := make(chan struct{})
	go func() {
		finished := false
		defer func() {
			if p := recover(); p != nil {
				c.Errorf("cleanup panicked: %v", p)
			} else if !finished {
				c.Errorf("cleanup stopped the test (Fatalf or Skipf in a cleanup)")
			}
			close(done)
		}()
		f()
		finished = true
	}()
	<-done
}

// Tests returns the whole suite, sorted by name.
func Tests() []Test {
	ts := append(append(append([]Test(nil), hmmTests...), svmTests...), memTests...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts
}

// Table formats results as a text table: one row per test, one column per
// backend, each cell pass / FAIL / skip.
func Table(results []Result) string {
	var backends, tests []string
	seenB, seenT := map[string]bool{}, map[string]bool{}
	cell := map[[2]string]Result{}
	for _, r := range results {
		if !seenB[r.Backend] {
			seenB[r.Backend] = true
			backends = append(backends, r.Backend)
		}
		if !seenT[r.Test] {
			seenT[r.Test] = true
			tests = append(tests, r.Test)
		}
		cell[[2]string{r.Test, r.Backend}] = r
	}
	w := 0
	for _, t := range tests {
		w = max(w, len(t))
	}
	cw := make([]int, len(backends)) // column widths
	for i, b := range backends {
		cw[i] = max(8, len(b))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-*s", w, "test")
	for i, b := range backends {
		fmt.Fprintf(&sb, "  %-*s", cw[i], b)
	}
	sb.WriteString("\n")
	var notes []string
	for _, t := range tests {
		fmt.Fprintf(&sb, "%-*s", w, t)
		for i, b := range backends {
			r, ok := cell[[2]string{t, b}]
			s := "-"
			if ok {
				s = string(r.Status)
				if r.Status == Fail {
					s = "FAIL"
				}
				if r.Status != Pass && r.Reason != "" {
					notes = append(notes, fmt.Sprintf("  %s on %s: %s: %s", t, b, s, r.Reason))
				}
			}
			fmt.Fprintf(&sb, "  %-*s", cw[i], s)
		}
		sb.WriteString("\n")
	}
	if len(notes) > 0 {
		sb.WriteString("\n")
		sb.WriteString(strings.Join(notes, "\n"))
		sb.WriteString("\n")
	}
	return sb.String()
}
