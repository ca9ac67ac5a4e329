package bench

import (
	"context"
	"fmt"
	"github.com/svmrt/svmrt/backends"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/runtime"
)

// Sample is one timed run of a Runner.
type Sample struct {
	Elapsed time.Duration // host wall time of the timed region
	Units   float64       // what the section counts: accesses, elements, pages, flops
	Stats   Counters      // the device's counters over the timed region (zero for host-only runs)
}

// Runner is one configuration, opened: its device and memory. Setup and
// Teardown (either may be nil) run around every Run, untimed; Run times
// its own region. Check verifies what the runs so far computed (it may
// touch device-resident memory, so call it after the timed runs).
type Runner struct {
	Setup    func() error
	Run      func(ctx context.Context) (Sample, error)
	Teardown func() error
	Check    func() error
	Close    func() error
	// Warm, when not nil, warms the runner up (builds, first faults)
	// instead of one untimed Once.
	Warm func(ctx context.Context) error
	// Note describes the configuration once opened (device, path taken).
	Note string
}

// Once runs Setup, Run and Teardown.
func (r *Runner) Once(ctx context.Context) (Sample, error) {
	if r.Setup != nil {
		if err := r.Setup(); err != nil {
			return Sample{}, err
		}
	}
	s, err := r.Run(ctx)
	if r.Teardown != nil {
		if terr := r.Teardown(); err == nil {
			err = terr
		}
	}
	return s, err
}

// WarmUp runs Warm, or Once untimed.
func (r *Runner) WarmUp(ctx context.Context) error {
	if r.Warm != nil {
		return r.Warm(ctx)
	}
	_, err := r.Once(ctx)
	return err
}

// Case is one configuration of a section.
type Case struct {
	ID   string // short, for benchmark names and goals: "simgpu", "simgpu-go", "cpu", "plain", "opencl", ...
	Name string // for tables: "simgpu compiled"
	// Skip, when not empty, says why the case cannot run here (no OpenCL).
	Skip string
	Open func(ctx context.Context) (*Runner, error)
}

// Section is one measurement: cases that do the same work, in one unit.
type Section struct {
	Key   string // "a", "b", "c", "d"
	Title string
	What  string // the work, with its sizes
	Size  string // the size, short ("m = 1024")
	Unit  string // "ns/access", "ns/elem", "µs/page", "GFLOP/s"
	Cases []Case
}

// Rate reports whether the section's figure is a rate (higher is better)
// rather than a time per unit.
func (s *Section) Rate() bool { return s.Unit == "GFLOP/s" }

// Value is sample x in the section's unit.
func (s *Section) Value(x Sample) float64 {
	if x.Units <= 0 {
		return 0
	}
	ns := float64(x.Elapsed.Nanoseconds())
	switch s.Unit {
	case "GFLOP/s":
		return x.Units / ns
	case "µs/page":
		return ns / 1e3 / x.Units
	}
	return ns / x.Units
}

// Case returns the case with the given id, or nil.
func (s *Section) Case(id string) *Case {
	for i := range s.Cases {
		if s.Cases[i].ID == id {
			return &s.Cases[i]
		}
	}
	return nil
}

// Median of xs (NaN-free, not empty).
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Counters are a device's counters over a timed region: the ones every
// device keeps and a simulated device's own (zero elsewhere).
type Counters = backends.Counters

// countersOf reads dev's counters now.
func countersOf(dev *runtime.Device) Counters { return backends.CountersOf(dev.Backend()) }

// statsDelta is b - a, counter by counter.
func statsDelta(a, b Counters) Counters { return combine(b, a, -1) }

// AddStats is a + b, counter by counter (sums of samples).
func AddStats(a, b Counters) Counters { return combine(a, b, 1) }

// combine is x + sign*y over every counter (all are int64 or
// time.Duration), so a new counter needs no edit here.
func combine(x, y Counters, sign int64) Counters {
	out := x
	vo, vy := reflect.ValueOf(&out).Elem(), reflect.ValueOf(y)
	for part := range vo.NumField() {
		po, py := vo.Field(part), vy.Field(part)
		for i := range po.NumField() {
			f := po.Field(i)
			f.SetInt(f.Int() + sign*py.Field(i).Int())
		}
	}
	return out
}

// mapping is private anonymous memory of its own (page-aligned, shared
// with nothing else in the process), as []float32 or []uint32.
type mapping struct{ b []byte }

func mapBytes(n int) (*mapping, error) {
	size := (max(n, 1) + syscall.Getpagesize() - 1) &^ (syscall.Getpagesize() - 1)
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("bench: mmap %d bytes: %w", size, err)
	}
	return &mapping{b: b}, nil
}

func (m *mapping) f32(n int) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(&m.b[0])), n) }
func (m *mapping) u32(n int) []uint32  { return unsafe.Slice((*uint32)(unsafe.Pointer(&m.b[0])), n) }

func (m *mapping) unmap() error {
	if m == nil || m.b == nil {
		return nil
	}
	err := syscall.Munmap(m.b)
	m.b = nil
	return err
}

// unmapAll unmaps ms, returning the first error.
func unmapAll(ms ...*mapping) error {
	var first error
	for _, m := range ms {
		if err := m.unmap(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// openCLSkip is why OpenCL cases cannot run here ("" when they can).
func openCLSkip() string {
	if err := runtime.Unavailable("opencl"); err != nil {
		return err.Error()
	}
	return ""
}

// timed runs fn and returns its wall time and the device's counters over it
// (dev may be nil).
func timed(dev *runtime.Device, fn func() error) (time.Duration, Counters, error) {
	var s0 Counters
	if dev != nil {
		s0 = countersOf(dev)
	}
	start := time.Now()
	err := fn()
	el := time.Since(start)
	var d Counters
	if dev != nil {
		d = statsDelta(s0, countersOf(dev))
	}
	return el, d, err
}

// ParseSize parses a byte count: a non-negative integer with an optional
// unit B, KiB, MiB, GiB (or K, M, G, KB, MB, GB: also powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bench: bad size %q (want e.g. 256MiB)", s)
	}
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20, "G": 30, "GB": 30, "GIB": 30}
	sh, ok := shift[unit]
	if !ok || v > math.MaxInt64>>sh {
		return 0, fmt.Errorf("bench: bad size %q (want e.g. 256MiB)", s)
	}
	return v << sh, nil
}
