package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/runtime"
)

// Case is one kernel launch to check.
type Case struct {
	// Name identifies the case in reports ("saxpy/n=65536"); the kernel's
	// name when empty.
	Name string
	// Kernel is the kernel to check: a Go value with a Source and a Body
	// (both are checked), a Go value with only one of them, or a kernel of
	// a compiled kernels.Program.
	Kernel *kernels.Kernel
	// Range is the launch's NDRange.
	Range kernels.NDRange
	// Inputs returns the arguments of one launch, as runtime.Device.Run
	// takes them. Every call must return new memory (fresh slices and
	// objects: each run writes its own) with the same contents.
	Inputs func() []any
	// Outputs are the indexes of the arguments to compare after a run
	// (slices or pointers of pointer-free data). Nil means every argument
	// of a Written pointer parameter.
	Outputs []int
	// Results, when set, replaces Outputs: it returns the values to compare
	// from a run's arguments, after the run. Use it for results a kernel
	// writes through pointers stored in memory.
	Results func(args []any) []Output
	// Reference, when set, computes the expected results in plain Go: it
	// is called on fresh arguments from Inputs and must leave them as the
	// kernel would (it runs as the "host/ref" run).
	Reference func(args []any)
	// Release, when set, is called with each run's arguments once its
	// outputs have been read (to unmap memory Inputs mapped, say).
	Release func(args []any)
	// Tolerance, when set, accepts float results that differ by at most
	// Tolerance.ULPs; results are otherwise compared bit for bit. Set it
	// only for a kernel whose source and body cannot round identically, and
	// say why.
	Tolerance *Tolerance
}

// Tolerance is how far apart a case's float results may be, and why.
type Tolerance struct {
	ULPs uint64 // largest accepted distance in units in the last place
	Why  string // required: why the results cannot be bit-identical
}

// name is the case's name in reports.
func (c *Case) name() string {
	if c.Name != "" {
		return c.Name
	}
	if c.Kernel != nil {
		return c.Kernel.Name
	}
	return "?"
}

// validate reports a malformed case.
func (c *Case) validate() error {
	switch {
	case c.Kernel == nil:
		return errors.New("no Kernel")
	case c.Inputs == nil:
		return errors.New("no Inputs")
	case c.Tolerance != nil && strings.TrimSpace(c.Tolerance.Why) == "":
		return errors.New("a Tolerance needs its reason (Why)")
	}
	if err := c.Range.Validate(); err != nil {
		return err
	}
	for _, i := range c.Outputs {
		if i < 0 || i >= len(c.Kernel.Params) {
			return fmt.Errorf("Outputs: %d is not an argument index of %s (%d parameters)", i, c.Kernel.Name, len(c.Kernel.Params))
		}
	}
	return nil
}

// outputs returns the values to compare from a run's arguments.
func (c *Case) outputs(args []any) ([]Output, error) {
	if c.Results != nil {
		return c.Results(args), nil
	}
	idx := c.Outputs
	if idx == nil {
		for i, p := range c.Kernel.Params {
			if p.Kind.IsPointer() && p.Written {
				idx = append(idx, i)
			}
		}
	}
	if len(args) != len(c.Kernel.Params) {
		return nil, fmt.Errorf("Inputs returned %d arguments, %s takes %d", len(args), c.Kernel.Name, len(c.Kernel.Params))
	}
	out := make([]Output, 0, len(idx))
	for _, i := range idx {
		out = append(out, Output{Name: c.Kernel.Params[i].Name, Value: args[i]})
	}
	return out, nil
}

// Path is how a run executed the kernel.
type Path string

const (
	Source Path = "source" // the kernel's OpenCL C, compiled for the device
	GoBody Path = "go"     // the kernel's Go Body
	Fast   Path = "fast"   // the kernel's HostFast path (cpu)
	Ref    Path = "ref"    // the case's plain-Go Reference, on the host
)

// Run is one execution of a case.
type Run struct {
	Target string // as named: "cpu", "simgpu/go", "opencl/buffer", "host/ref"
	Device string // the device's name ("cpu", "simgpu", "opencl:0"), "host" for the reference
	Path   Path
	// Skipped says why the run could not happen here ("" when it ran).
	Skipped string
	// Err is the launch's error (a failed run is a difference).
	Err error
	// Diffs are the outputs that differ from the baseline's.
	Diffs    []Diff
	Duration time.Duration

	outputs []snapshot
}

// Ran reports whether the run executed and produced outputs.
func (r *Run) Ran() bool { return r.Skipped == "" && r.Err == nil }

// OK reports whether the run did not fail and its outputs equal the
// baseline's (or are within the case's tolerance).
func (r *Run) OK() bool {
	if r.Err != nil {
		return false
	}
	for _, d := range r.Diffs {
		if !d.Within {
			return false
		}
	}
	return true
}

// Result is the run's outcome in a few words: "baseline", "identical",
// "within 2 ULP", "DIFFERS: ...", "FAILED: ...", "skipped: ...".
func (r *Run) Result(baseline bool) string {
	switch {
	case r.Skipped != "":
		return "skipped: " + r.Skipped
	case r.Err != nil:
		return "FAILED: " + r.Err.Error()
	case baseline:
		return "baseline"
	case len(r.Diffs) == 0:
		return "identical"
	}
	var parts []string
	within := true
	var ulp uint64
	for _, d := range r.Diffs {
		parts = append(parts, d.String())
		within = within && d.Within
		ulp = max(ulp, d.MaxULPs)
	}
	if within {
		return fmt.Sprintf("within %d ULP (tolerance): %s", ulp, strings.Join(parts, "; "))
	}
	return "DIFFERS: " + strings.Join(parts, "; ")
}

// Report is the outcome of checking one case.
type Report struct {
	Case      string
	Kernel    string
	Range     kernels.NDRange
	Tolerance *Tolerance
	// Runs are in the order they ran: the Go body first (when the kernel
	// has one), then the reference, then the targets.
	Runs []*Run
	// Baseline is the index in Runs of the run the others are compared
	// with (-1 when no run produced outputs).
	Baseline int
}

// OK reports whether no run failed and every run that produced outputs
// agrees with the baseline (bit for bit, or within the case's Tolerance).
// Skipped runs do not count; see Compared.
func (r *Report) OK() bool {
	for _, run := range r.Runs {
		if !run.OK() {
			return false
		}
	}
	return true
}

// Compared is the number of runs that produced outputs (the baseline
// included): below 2, nothing was compared.
func (r *Report) Compared() int {
	n := 0
	for _, run := range r.Runs {
		if run.Ran() {
			n++
		}
	}
	return n
}

// Err is nil when the report is OK, else an error naming every run that
// differs or failed.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	var bad []string
	for _, run := range r.Runs {
		if !run.OK() {
			bad = append(bad, run.Target+": "+run.Result(false))
		}
	}
	base := "none"
	if r.Baseline >= 0 {
		base = r.Runs[r.Baseline].Target
	}
	return fmt.Errorf("kerneltest: %s (baseline %s): %s", r.Case, base, strings.Join(bad, "; "))
}

// String prints the report: a header with the verdict, then one line per
// run (target, device, path, result).
func (r *Report) String() string {
	var sb strings.Builder
	verdict := "ok"
	switch {
	case !r.OK():
		verdict = "FAIL"
	case r.Compared() < 2:
		verdict = "nothing compared"
	}
	base := "-"
	if r.Baseline >= 0 {
		base = r.Runs[r.Baseline].Target
	}
	fmt.Fprintf(&sb, "%s: %s (kernel %s, %v; baseline %s)\n", r.Case, verdict, r.Kernel, r.Range, base)
	if r.Tolerance != nil {
		fmt.Fprintf(&sb, "  tolerance %d ULP: %s\n", r.Tolerance.ULPs, r.Tolerance.Why)
	}
	tw, dw := len("target"), len("device")
	for _, run := range r.Runs {
		tw, dw = max(tw, len(run.Target)), max(dw, len(run.Device))
	}
	for i, run := range r.Runs {
		d := ""
		if run.Ran() || run.Err != nil {
			d = " (" + run.Duration.Round(time.Millisecond).String() + ")"
		}
		fmt.Fprintf(&sb, "  %-*s  %-*s  %-6s  %s%s\n", tw, run.Target, dw, run.Device, run.Path, run.Result(i == r.Baseline), d)
	}
	return strings.TrimRight(sb.String(), "\n")
}

// DefaultTargets are the targets Check uses when given none: the compiled
// source on cpu, simgpu, and opencl — the last even where OpenCL is
// unavailable, so that the report says why it did not run.
func DefaultTargets() []string { return []string{"cpu", "simgpu", "opencl"} }

// Targets lists every target name Check accepts, for help texts
// ("opencl:N" stands for any OpenCL device index).
func Targets() []string {
	return []string{"cpu", "cpu/go", "cpu/fast", "simgpu", "simgpu/go", "opencl", "opencl/buffer", "opencl:N", "opencl:N/buffer"}
}

// ValidTarget reports whether Check accepts name as a target (an error
// listing the known ones if not). It opens nothing.
func ValidTarget(name string) error {
	_, err := parseTarget(name)
	return err
}

// target is a parsed target name.
type target struct {
	name   string // as given
	device string // the name runtime.Open takes
	path   Path
	buffer bool // OpenCL in buffer mode
}

// parseTarget parses a target name (see Targets).
func parseTarget(s string) (target, error) {
	t := target{name: s, path: Source}
	dev, suffix, _ := strings.Cut(strings.ToLower(s), "/")
	t.device = dev
	isCL := dev == "opencl" || (strings.HasPrefix(dev, "opencl:") && isDigits(dev[len("opencl:"):]))
	switch {
	case (dev == "cpu" || dev == "simgpu") && suffix == "":
	case (dev == "cpu" || dev == "simgpu") && suffix == "go":
		t.path = GoBody
	case dev == "cpu" && suffix == "fast":
		t.path = Fast
	case isCL && suffix == "":
	case isCL && suffix == "buffer":
		t.buffer = true
	default:
		return t, fmt.Errorf("kerneltest: unknown target %q (known: %s)", s, strings.Join(Targets(), ", "))
	}
	return t, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// options are the runtime options that make a device run the target's path.
func (t target) options() []runtime.Option {
	switch {
	case t.device == "cpu" && t.path == Source:
		return []runtime.Option{runtime.WithoutFastPaths()}
	case t.device == "cpu" && t.path == GoBody:
		return []runtime.Option{runtime.WithGoBodies(), runtime.WithoutFastPaths()}
	case t.device == "cpu" && t.path == Fast:
		return []runtime.Option{runtime.WithGoBodies()}
	case t.path == GoBody:
		return []runtime.Option{runtime.WithGoBodies()}
	case t.buffer:
		return []runtime.Option{runtime.WithBufferMode()}
	}
	return nil
}

// Session runs cases on devices it opens once and keeps until Close: the
// way to check many cases (CheckAll uses one). A Session is not safe for
// concurrent use.
type Session struct {
	devs map[string]*runtime.Device
	errs map[string]error
}

// NewSession returns a session with no device open yet.
func NewSession() *Session {
	return &Session{devs: map[string]*runtime.Device{}, errs: map[string]error{}}
}

// Close closes the devices the session opened.
func (s *Session) Close() error {
	var errs []error
	for _, d := range s.devs {
		errs = append(errs, d.Close())
	}
	s.devs = map[string]*runtime.Device{}
	return errors.Join(errs...)
}

// open returns the session's device for t, opening it on first use.
func (s *Session) open(t target) (*runtime.Device, error) {
	key := t.device + "/" + string(t.path)
	if t.buffer {
		key += "/buffer"
	}
	if d, ok := s.devs[key]; ok {
		return d, nil
	}
	if err, ok := s.errs[key]; ok {
		return nil, err
	}
	if strings.HasPrefix(t.device, "opencl") {
		if err := runtime.Unavailable("opencl"); err != nil {
			s.errs[key] = err
			return nil, err
		}
	}
	d, err := runtime.Open(t.device, t.options()...)
	if err != nil {
		s.errs[key] = err
		return nil, err
	}
	s.devs[key] = d
	return d, nil
}

// Check runs c on each target (DefaultTargets when none is given), and its
// Go body on the cpu device and its Reference when it has them, on fresh
// inputs, and compares every output with the baseline's. The error is for
// a malformed case, an unknown target, Inputs that do not return the same
// contents every time, or ctx ending; differences and failed launches are
// in the report (Report.OK, Report.Err).
func Check(ctx context.Context, c Case, targets ...string) (*Report, error) {
	s := NewSession()
	defer s.Close()
	return s.Check(ctx, c, targets...)
}

// CheckAll checks every case on the same targets, opening each device
// once. It stops at the first error (not at the first difference).
func CheckAll(ctx context.Context, cases []Case, targets ...string) ([]*Report, error) {
	s := NewSession()
	defer s.Close()
	var reps []*Report
	for _, c := range cases {
		r, err := s.Check(ctx, c, targets...)
		if err != nil {
			return reps, err
		}
		reps = append(reps, r)
	}
	return reps, nil
}

// Check is the package's Check on the session's devices.
func (s *Session) Check(ctx context.Context, c Case, targets ...string) (*Report, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("kerneltest: case %s: %w", c.name(), err)
	}
	if len(targets) == 0 {
		targets = DefaultTargets()
	}
	var ts []target
	seen := map[string]bool{}
	add := func(t target) {
		if !seen[t.name] {
			seen[t.name] = true
			ts = append(ts, t)
		}
	}
	if c.Kernel.Body != nil {
		add(target{name: "cpu/go", device: "cpu", path: GoBody})
	}
	if c.Reference != nil {
		add(target{name: "host/ref", device: "host", path: Ref})
	}
	for _, name := range targets {
		t, err := parseTarget(name)
		if err != nil {
			return nil, err
		}
		add(t)
	}

	rep := &Report{Case: c.name(), Kernel: c.Kernel.Name, Range: c.Range, Tolerance: c.Tolerance, Baseline: -1}
	in := inputsSeen{seed: maphash.MakeSeed()}
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		run := &Run{Target: t.name, Device: t.device, Path: t.path}
		rep.Runs = append(rep.Runs, run)
		if why := s.whyNot(c.Kernel, t); why != "" {
			run.Skipped = why
			continue
		}
		var dev *runtime.Device
		if t.path != Ref {
			d, err := s.open(t)
			if err != nil {
				run.Skipped = fmt.Sprintf("cannot open %s: %v", t.device, err)
				continue
			}
			dev = d
			run.Device = d.Name()
		}
		if err := s.runOne(ctx, &c, t, dev, run, &in); err != nil {
			return rep, fmt.Errorf("kerneltest: case %s: %w", c.name(), err)
		}
		if err := ctx.Err(); err != nil && run.Err != nil {
			return rep, err
		}
	}

	for i, run := range rep.Runs {
		if run.Ran() {
			rep.Baseline = i
			break
		}
	}
	if rep.Baseline < 0 {
		return rep, nil
	}
	base := rep.Runs[rep.Baseline]
	for i, run := range rep.Runs {
		if i == rep.Baseline || !run.Ran() {
			continue
		}
		if len(run.outputs) != len(base.outputs) { // Results returned a different list
			run.Diffs = append(run.Diffs, Diff{Output: "outputs", Index: -1,
				Got: fmt.Sprint(len(run.outputs)), Want: fmt.Sprint(len(base.outputs))})
			continue
		}
		for j, o := range run.outputs {
			if d := diff(o, base.outputs[j], c.Tolerance); d != nil {
				run.Diffs = append(run.Diffs, *d)
			}
		}
	}
	return rep, nil
}

// inputsSeen is what the first run's Inputs returned, to check that later
// runs get the same contents.
type inputsSeen struct {
	seed maphash.Seed
	sum  uint64
	from string // the first run's target
}

// runOne makes fresh inputs, runs c on dev (the reference when dev is nil)
// and keeps the outputs in run. The error is the case's fault (Inputs that
// change, outputs that cannot be read); a failed launch is run.Err.
func (s *Session) runOne(ctx context.Context, c *Case, t target, dev *runtime.Device, run *Run, in *inputsSeen) error {
	args := c.Inputs()
	defer goruntime.KeepAlive(args)
	if c.Release != nil {
		defer c.Release(args)
	}
	if sum := fingerprint(in.seed, args); in.from == "" {
		in.sum, in.from = sum, t.name
	} else if sum != in.sum {
		return fmt.Errorf("Inputs returned different contents for %s than for %s (it must return the same data every call)", t.name, in.from)
	}
	outs, err := c.outputs(args)
	if err != nil {
		return err
	}
	start := time.Now()
	if dev == nil {
		run.Err = reference(c.Reference, args)
	} else {
		run.Skipped, run.Err = launch(ctx, dev, *c, t, args)
	}
	run.Duration = time.Since(start)
	if !run.Ran() {
		return nil
	}
	for _, o := range outs {
		snap, err := take(o)
		if err != nil {
			return err
		}
		run.outputs = append(run.outputs, snap)
	}
	return nil
}

// reference runs a case's Reference, turning a panic into the run's error.
func reference(f func([]any), args []any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kerneltest: the reference panicked: %v", p)
		}
	}()
	f(args)
	return nil
}

// whyNot says why target t cannot run kernel k here ("" when it can).
func (s *Session) whyNot(k *kernels.Kernel, t target) string {
	switch t.path {
	case GoBody, Fast:
		if k.Body == nil {
			return "the kernel has no Go body"
		}
		if t.path == Fast && k.HostFast == nil {
			return "the kernel has no HostFast path"
		}
		return ""
	case Ref:
		return ""
	}
	if k.Source == "" && k.Program() == nil {
		return "the kernel has no OpenCL C source"
	}
	if strings.HasPrefix(t.device, "opencl") {
		return "" // the OpenCL implementation builds the source itself
	}
	// cpu and simgpu run the Go body instead when clang is missing: that
	// would compare the body with itself.
	if _, err := k.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		return err.Error()
	}
	return ""
}

// launch runs the case on dev and checks that the device took the path the
// target names. A staging device that cannot follow the kernel's pointers
// (runtime.ErrNotSupported from a device that is neither coherent nor
// mirrors the page table) is a skip.
func launch(ctx context.Context, dev *runtime.Device, c Case, t target, args []any) (skipped string, err error) {
	before := dev.Stats()
	if err := dev.Run(ctx, c.Kernel, c.Range, args...); err != nil {
		caps := dev.Info().Caps
		if errors.Is(err, runtime.ErrNotSupported) && !caps.Coherent && !caps.Faults {
			return err.Error(), nil
		}
		return "", err
	}
	after := dev.Stats()
	compiled, fast := after.CompiledLaunches-before.CompiledLaunches, after.FastPathLaunches-before.FastPathLaunches
	switch {
	case t.path == Source && compiled != 1:
		return "", fmt.Errorf("kerneltest: %s did not run the compiled source (%d compiled launches, %d fast)", dev.Name(), compiled, fast)
	case t.path == GoBody && (compiled != 0 || fast != 0):
		return "", fmt.Errorf("kerneltest: %s did not run the Go body (%d compiled launches, %d fast)", dev.Name(), compiled, fast)
	case t.path == Fast && fast != 1:
		return "HostFast declined these arguments (the device ran the Go body)", nil
	}
	return "", nil
}
