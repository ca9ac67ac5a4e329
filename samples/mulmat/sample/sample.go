// Package sample is the mulmat sample's body, shared by the sample
// (go run ./samples/mulmat) and `svmrt run mulmat`, so the two accept the
// same devices and options, refuse the same mistakes and print the same
// summary.
//
// -vram and -policy configure the simulated GPU's memory; on any other
// device (cpu, opencl, opencl/buffer) nothing migrates into device memory,
// so asking for them there is a usage error (ErrUsage) rather than an option
// silently ignored.
package sample

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// ErrUsage marks errors in the options (exit status 2 in the commands).
var ErrUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// Defaults of the options.
const (
	DefaultM      = 256
	DefaultDevice = "simgpu"
	DefaultVRAM   = "256MiB"
	DefaultPolicy = "demand"
	MaxM          = 8192
)

// Devices is the help text for the device option.
const Devices = "cpu, simgpu, opencl, opencl:N, opencl/buffer, opencl:N/buffer; svmrt devices lists this machine's"

// SizeForms says which -vram values ParseSize accepts.
const SizeForms = "bytes (1048576) or a whole number with KiB, MiB or GiB (K, M, G: the same) — 256MiB, 1GiB"

// Config is one run of the sample.
type Config struct {
	M      int    // matrix size (m×m float32)
	Device string // "" means DefaultDevice
	VRAM   string // simulated GPU memory; "" means not given (DefaultVRAM on simgpu, an error elsewhere otherwise)
	Policy string // simulated GPU memory policy; "" means not given (DefaultPolicy on simgpu)

	Stdout, Stderr io.Writer // the summary; progress and notes
	// ProgressEvery is how often a long run reports on Stderr (0: every 2 s,
	// negative: never).
	ProgressEvery time.Duration

	// Observe, when set, is told of each step of the run, so that it can
	// sample where the matrices' pages are (svmrt viz).
	Observe Observer
	// ReadSteps is how many steps the CPU's reading of r is cut into for
	// Observe (0: 8); without Observe r is read in one go.
	ReadSteps int

	// Trace, when set, receives the run's timeline as Trace Event JSON
	// (runtime.WithTrace, ended when the device closes); an error writing
	// it fails the run after it has finished.
	Trace io.Writer
}

// Observer watches a run step by step. Start is called once the device is
// open and the matrices exist, before they are written; Step after each
// step: phase is the part of the run ("host", "launch", "CPU reads r") and
// label the step within it. A Step of the launch phase is called between
// two waves of a simulated GPU's launch, from the launching goroutine,
// when no fault is being served; on other devices the launch is one step.
// An error from either stops the run (a Step's during a launch, once the
// launch returns).
type Observer interface {
	Start(dev *svmrt.Device, a, b, r []float32) error
	Step(phase, label string) error
}

// The phases an Observer sees.
const (
	PhaseHost   = "host"
	PhaseLaunch = "launch"
	PhaseRead   = "CPU reads r"
)

// ParseSize parses a memory size: bytes, or a whole number with a binary
// suffix (KiB, MiB, GiB, or K, M, G).
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suf  string
		mult int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if len(num) > len(u.suf) && strings.EqualFold(num[len(num)-len(u.suf):], u.suf) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suf)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		hint := ""
		if up := strings.ToUpper(strings.TrimSpace(s)); strings.HasSuffix(up, "KB") || strings.HasSuffix(up, "MB") || strings.HasSuffix(up, "GB") {
			hint = " (decimal units are not accepted: write KiB, MiB or GiB)"
		}
		return 0, usagef("bad size %q%s: want %s", s, hint, SizeForms)
	}
	return n * mult, nil
}

// target is a parsed device name.
type target struct {
	open   string // the name for runtime.Open
	buffer bool   // OpenCL buffer mode
	simgpu bool
	opencl bool
}

func parseDevice(name string) (target, error) {
	lname := strings.ToLower(strings.TrimSpace(name))
	switch lname {
	case "cpu":
		return target{open: "cpu"}, nil
	case "simgpu", "simgpu:0":
		return target{open: lname, simgpu: true}, nil
	}
	base, buffer := strings.CutSuffix(lname, "/buffer")
	if base == "opencl" {
		return target{open: base, buffer: buffer, opencl: true}, nil
	}
	if rest, ok := strings.CutPrefix(base, "opencl:"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return target{open: base, buffer: buffer, opencl: true}, nil
	}
	return target{}, usagef("unknown device %q (known: %s)", name, Devices)
}

// Check validates c without opening anything: the error is ErrUsage.
func Check(c Config) error {
	_, _, _, err := check(c)
	return err
}

// check returns c with its defaults and what it asks for: the device and
// its options.
func check(c Config) (Config, target, []svmrt.Option, error) {
	c = c.withDefaults()
	t, err := parseDevice(c.Device)
	if err != nil {
		return c, t, nil, err
	}
	if c.M <= 0 {
		return c, t, nil, usagef("-m %d: must be positive", c.M)
	}
	if c.M > MaxM {
		return c, t, nil, usagef("-m %d: at most %d (three %d×%d float32 matrices would not fit here)", c.M, MaxM, c.M, c.M)
	}
	if !t.simgpu {
		why := "accesses host memory directly"
		if t.buffer {
			why = "works on staged copies of what a launch names"
		}
		for _, o := range []struct{ flag, val string }{{"vram", c.VRAM}, {"policy", c.Policy}} {
			if o.val != "" {
				return c, t, nil, usagef("-%s %s: only the simulated GPU (-device simgpu) has device memory to size or manage; %s %s, nothing migrates", o.flag, o.val, c.Device, why)
			}
		}
		var opts []svmrt.Option
		if t.buffer {
			opts = append(opts, svmrt.WithBufferMode())
		}
		return c, t, opts, nil
	}
	vram, err := ParseSize(c.VRAM)
	if err != nil {
		return c, t, nil, usagef("-vram: %v", err)
	}
	policy := strings.ToLower(c.Policy)
	if policies := svmrt.PolicyNames("simgpu"); !slices.Contains(policies, policy) {
		return c, t, nil, usagef("-policy: unknown policy %q (known: %s)", c.Policy, strings.Join(policies, ", "))
	}
	return c, t, []svmrt.Option{svmrt.WithVRAM(vram), svmrt.WithPolicy(policy)}, nil
}

func (c Config) withDefaults() Config {
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	t, _ := parseDevice(c.Device)
	if t.simgpu {
		if c.VRAM == "" {
			c.VRAM = DefaultVRAM
		}
		if c.Policy == "" {
			c.Policy = DefaultPolicy
		}
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 2 * time.Second
	}
	if c.ReadSteps <= 0 {
		c.ReadSteps = 8
	}
	return c
}

// observer calls an Observer's Step, if any, keeping the first error and
// counting each phase's steps.
type observer struct {
	o     Observer
	err   error
	steps map[string]int
}

func (o *observer) step(phase, label string) {
	if o.o == nil || o.err != nil {
		return
	}
	if o.steps == nil {
		o.steps = map[string]int{}
	}
	o.steps[phase]++
	o.err = o.o.Step(phase, label)
}

// progress reports on stderr while a run takes long: the phase it is in
// (every ProgressEvery), and on the simulated GPU the launch's waves.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	every time.Duration
	start time.Time
	last  time.Time // last report (or the run's start)
	phase string    // what the run is doing (the latest wave, during a simulated GPU's launch)
	stop  chan struct{}
	done  chan struct{}
}

func newProgress(w io.Writer, every time.Duration) *progress {
	now := time.Now()
	p := &progress{w: w, every: every, start: now, last: now, stop: make(chan struct{}), done: make(chan struct{})}
	if every < 0 {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(min(every, 250*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case now := <-tick.C:
				p.mu.Lock()
				if p.phase != "" {
					p.report(now)
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) set(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// waves is the simulated GPU's callback (svmrt.WithProgress).
func (p *progress) waves(w svmrt.Progress) {
	if p.every < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = fmt.Sprintf("%s: wave %d/%d (%d%%), %d device faults, simulated %v",
		w.Kernel, w.Wave, w.Waves, 100*w.Wave/max(w.Waves, 1), w.DeviceFaults, w.Simulated)
	p.report(time.Now())
}

// report prints the phase if the last report is every ago (p.mu held).
func (p *progress) report(now time.Time) {
	if now.Sub(p.last) >= p.every {
		p.last = now
		fmt.Fprintf(p.w, "  [%v] %s\n", now.Sub(p.start).Round(time.Second), p.phase)
	}
}

func (p *progress) close() {
	select {
	case <-p.done:
	default:
		close(p.stop)
		<-p.done
	}
}

// Run runs the sample: opens the device, multiplies two m×m matrices of
// ordinary Go slices on it, checks the result against the CPU reference and
// prints the summary (the counters the device has) on c.Stdout.
func Run(ctx context.Context, c Config) (err error) {
	c, t, opts, err := check(c)
	if err != nil {
		return err
	}
	if c.Trace != nil {
		opts = append(opts, svmrt.WithTrace(c.Trace))
	}
	if t.opencl {
		if err := svmrt.Unavailable("opencl"); err != nil {
			// A known device kind that cannot be used here: say why (as
			// `svmrt devices` does), not "unknown device".
			return fmt.Errorf("device %s: %w", c.Device, err)
		}
	}
	prog := newProgress(c.Stderr, c.ProgressEvery)
	defer prog.close()
	obs := observer{o: c.Observe}
	if t.simgpu {
		opts = append(opts, svmrt.WithProgress(func(w svmrt.Progress) {
			prog.waves(w)
			obs.step(PhaseLaunch, fmt.Sprintf("wave %d/%d", w.Wave, w.Waves))
		}))
	}
	m, out := c.M, c.Stdout
	dev, err := svmrt.Open(t.open, opts...)
	if err != nil {
		return err
	}
	defer func() {
		// Closing ends the trace, so a traced run fails when Close does
		// (a trace it could not write); an untraced run's results are out
		// whatever Close says.
		if cerr := dev.Close(); cerr != nil && c.Trace != nil && err == nil {
			err = cerr
		}
	}()
	name := dev.Name()
	if t.buffer {
		name += "/buffer"
	}
	fmt.Fprintf(out, "device: %s — %s\n", name, dev.Info().Description)
	if err := svmrt.Degraded(); err != nil {
		fmt.Fprintln(out, "note:", err)
	}

	// The seed's data: ordinary slices, no device buffers — carved from
	// one make'd slice at a 2 MiB boundary, so that where the heap happens
	// to put them never changes what a policy working on 2 MiB blocks (the
	// prefetcher, eviction) does: the simulated numbers are the same on
	// every run, whatever the policy.
	a, b, r := blockAlignedMatrices(m)
	if c.Observe != nil {
		if err := c.Observe.Start(dev, a, b, r); err != nil {
			return err
		}
		obs.step(PhaseHost, "allocated")
	}
	for i := range a {
		a[i] = float32(i%17) / 8
		b[i] = float32(i%13) / 4
	}
	obs.step(PhaseHost, "a, b written")
	fmt.Fprintf(out, "mulmat: %d×%d float32 on %s (%d KiB per matrix)\n", m, m, name, m*m*4/1024)
	// The CPU reference first, while a and b are still on the host.
	prog.set(fmt.Sprintf("computing the CPU reference (%d×%d, plain Go)", m, m))
	ref := make([]float32, m*m)
	kernels.RefMulMat(ref, a, b, m)

	prog.set(fmt.Sprintf("mulmat %d×%d running on %s", m, m, name))
	start := time.Now()
	if err := svmrt.MulMat(ctx, dev, r, a, b, m); err != nil {
		return err
	}
	launchTime := time.Since(start)
	afterLaunch := dev.Stats()
	if obs.steps[PhaseLaunch] == 0 {
		obs.step(PhaseLaunch, "done") // a device without waves to report
	}
	if err := obs.err; err != nil {
		return err
	}

	// Where r lives now, without touching it.
	prog.set("reading the result")
	snap, err := svmrt.SnapshotSlice(dev, r)
	if err != nil {
		return err
	}
	onDevice := 0
	for _, p := range snap {
		if p.State == svmrt.PageOnDevice {
			onDevice++
		}
	}

	// Reading r on the CPU: real page faults bring it home (in ReadSteps
	// parts for an observer, in order: the same result).
	maxErr := 0.0
	parts := 1
	if c.Observe != nil {
		parts = min(c.ReadSteps, len(r))
	}
	for k := 0; k < parts; k++ {
		for i := k * len(r) / parts; i < (k+1)*len(r)/parts; i++ {
			maxErr = math.Max(maxErr, math.Abs(float64(r[i]-ref[i])))
		}
		obs.step(PhaseRead, fmt.Sprintf("%d/%d", k+1, parts))
	}
	if err := obs.err; err != nil {
		return err
	}
	st := dev.Stats()
	sim, _ := dev.SimStats()
	prog.close()

	info := dev.Info()
	if info.Caps.Faults {
		fmt.Fprintf(out, "  r after launch: %d of %d pages resident on the device\n", onDevice, len(snap))
	}
	fmt.Fprintln(out, "  summary")
	row := func(k string, v any) { fmt.Fprintf(out, "    %-26s %v\n", k, v) }
	row("max error vs CPU reference", maxErr)
	if info.Caps.Faults {
		// A device that mirrors the page table: faults and migrations.
		row("device faults", st.DeviceFaults)
		row("fault batches", st.FaultBatches)
		row("pages host→device", fmt.Sprintf("%d (%d KiB)", st.PagesH2D, st.BytesH2D/1024))
		row("pages device→host", fmt.Sprintf("%d (%d KiB)", st.PagesD2H, st.BytesD2H/1024))
		row("CPU faults (reading r)", st.CPUFaults-afterLaunch.CPUFaults)
		row("remote accesses", sim.RemoteAccesses)
		row("TLB hits / misses", fmt.Sprintf("%d / %d", sim.TLBHits, sim.TLBMisses))
		row("simulated time", sim.SimulatedTime)
	} else {
		// The device uses host memory as it is (cpu, OpenCL pass-through)
		// or stages named ranges (OpenCL buffer mode): nothing migrates,
		// and there are no fault counters to show.
		row("launches", st.Launches)
		if st.BytesH2D > 0 || st.BytesD2H > 0 {
			row("bytes staged in / out", fmt.Sprintf("%d / %d KiB", st.BytesH2D/1024, st.BytesD2H/1024))
		}
		if t.buffer {
			row("device faults", "none counted: "+name+" works on staged copies, nothing migrates")
		} else {
			row("device faults", "none counted: "+name+" accesses host memory directly, nothing migrates")
		}
	}
	row("host time (launch)", launchTime.Round(time.Millisecond))
	if maxErr > 1e-3*float64(m) {
		return fmt.Errorf("result wrong: max error %g", maxErr)
	}
	return nil
}

// Flags registers the sample's flags (-m, -device, -vram, -policy) on fs
// and returns the function that reads them into a Config once fs is
// parsed. An option not given is "": on cpu or opencl only an explicit
// -vram or -policy is an error.
func Flags(fs *flag.FlagSet) func() Config {
	m := fs.Int("m", DefaultM, "matrix size (m×m float32)")
	device := fs.String("device", DefaultDevice, "device: "+Devices)
	vram := fs.String("vram", DefaultVRAM, "simulated GPU memory, simgpu only: "+SizeForms)
	policy := fs.String("policy", DefaultPolicy, "simulated GPU memory policy, simgpu only: "+strings.Join(svmrt.PolicyNames("simgpu"), ", "))
	return func() Config {
		c := Config{M: *m, Device: *device}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "vram":
				c.VRAM = *vram
			case "policy":
				c.Policy = *policy
			}
		})
		return c
	}
}

// InterruptContext is a context cancelled by an interrupt (Ctrl-C), which
// stops a simulated GPU's launch at its next wave; stop releases it.
func InterruptContext() (ctx context.Context, stop func()) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// blockAlignedMatrices returns three m×m matrices, consecutive in one Go
// slice whose first element sits on a 2 MiB boundary.
func blockAlignedMatrices(m int) (a, b, r []float32) {
	const block = 2 << 20
	n := m * m
	buf := make([]float32, 3*n+block/4)
	skip := int((block - uintptr(unsafe.Pointer(&buf[0]))%block) % block / 4)
	buf = buf[skip : skip+3*n : skip+3*n]
	return buf[:n:n], buf[n : 2*n : 2*n], buf[2*n:]
}
