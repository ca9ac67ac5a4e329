// Package policies runs the same workloads on simulated GPUs under several
// memory policies and tabulates what happened: simulated time, fault
// batches, pages moved each way, evictions, thrashing, duplicates. Because
// the simulated GPU's clock is deterministic, every number in the table is
// identical from run to run (host time is reported apart), so policies can
// be compared exactly — the point of simulating them.
//
// Every workload allocates its data with mmap at 2 MiB alignment, so the
// data's position inside VA blocks — which decides fault groups, chunks and
// prefetch regions — is the same on every run. Each run gets a fresh device
// and fresh data; results are checked against plain-Go references, and a
// wrong answer is an error, not a row.
//
// The same table can come from one recording per workload instead of a
// run per policy: Record, then ReplayAll (replay.go).
package policies

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Workload is one program run under each policy.
type Workload struct {
	Name string
	Doc  string
	// VRAM is the device memory the workload runs with (its footprint
	// relative to it is the oversubscription).
	VRAM int64
	// Run runs the workload on d and checks the results.
	Run func(ctx context.Context, d *simgpu.Device) error
	// Short marks workloads cheap enough for `go test -short`.
	Short bool
}

// Result is one row of the table.
type Result struct {
	Workload, Policy string
	Stats            backends.Counters
	Clock            simgpu.ClockBreakdown
	Host             time.Duration
	Err              error
}

// Run runs every workload under every policy (by name), each on a fresh
// device, and returns the results in workload-major order. progress, if not
// nil, is told about each run before it starts.
func Run(ctx context.Context, ws []Workload, policyNames []string, progress func(i, n int, w, p string)) ([]Result, error) {
	var out []Result
	n := len(ws) * len(policyNames)
	for _, w := range ws {
		for _, pn := range policyNames {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if progress != nil {
				progress(len(out)+1, n, w.Name, pn)
			}
			r, err := RunOne(ctx, w, pn)
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// RunOne runs one workload under one policy on a fresh device. The error is
// for a device that could not be made; a failed workload is in Result.Err.
func RunOne(ctx context.Context, w Workload, policy string, opts ...simgpu.Option) (Result, error) {
	p, err := simgpu.PolicyByName(policy)
	if err != nil {
		return Result{}, err
	}
	opts = append([]simgpu.Option{simgpu.WithVRAM(w.VRAM), simgpu.WithPolicy(p), simgpu.WithName("simgpu")}, opts...)
	d, err := simgpu.New(opts...)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	runErr := w.Run(ctx, d)
	res := Result{Workload: w.Name, Policy: p.Name(), Stats: backends.CountersOf(d), Clock: d.Clock(), Host: time.Since(start), Err: runErr}
	if err := d.Close(); err != nil && res.Err == nil {
		res.Err = fmt.Errorf("close: %w", err)
	}
	return res, nil
}

// WriteTable prints results as an aligned table. Host time is left out
// unless withHost: everything else is deterministic.
func WriteTable(w io.Writer, rs []Result, withHost bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "workload\tpolicy\tsimulated\tfaults\tbatches\tH→D\tD→H\tprefetched\tevictions\tthrash\tthrottled\tpinned\tdups\tremote\tcpu faults\tresult\t"
	if withHost {
		head += "host\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		s := r.Stats
		result := "ok"
		if r.Err != nil {
			result = "FAIL: " + strings.SplitN(r.Err.Error(), "\n", 2)[0]
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t",
			r.Workload, r.Policy, fmtDur(r.Clock.Total()), s.DeviceFaults, s.FaultBatches, s.PagesH2D, s.PagesD2H,
			s.PagesPrefetch, s.Evictions, s.ThrashEvents, s.Throttles, s.Pins, s.Duplicates, s.RemoteAccesses, s.CPUFaults, result)
		if withHost {
			line += r.Host.Round(time.Millisecond).String() + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/1e6)
}

// Find returns the result for a workload and policy.
func Find(rs []Result, workload, policy string) (Result, bool) {
	for _, r := range rs {
		if r.Workload == workload && r.Policy == policy {
			return r, true
		}
	}
	return Result{}, false
}

// region is workload memory: private anonymous, 2 MiB aligned.
type region struct {
	mapping []byte // the whole mmap, for munmap
	data    []byte // the aligned part
}

const blockSize = 2 << 20

func alloc(bytes int) (*region, error) {
	size := (bytes + svm.PageSize - 1) &^ (svm.PageSize - 1)
	m, err := syscall.Mmap(-1, 0, size+blockSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("policies: mmap %d bytes: %w", size+blockSize, err)
	}
	base := uintptr(unsafe.Pointer(&m[0]))
	off := int((blockSize - base%blockSize) % blockSize)
	return &region{mapping: m, data: m[off : off+bytes]}, nil
}

// free unmaps the region and forgets its advice (advice belongs to the
// address range, which the next mmap may reuse).
func (r *region) free() {
	svm.ClearAdvice(r.addr(), uintptr(len(r.data)))
	syscall.Munmap(r.mapping)
}

func (r *region) f32() []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&r.data[0])), len(r.data)/4)
}

func (r *region) u32() []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(&r.data[0])), len(r.data)/4)
}

func (r *region) i32() []int32 {
	return unsafe.Slice((*int32)(unsafe.Pointer(&r.data[0])), len(r.data)/4)
}

func (r *region) addr() uintptr { return uintptr(unsafe.Pointer(&r.data[0])) }

// allocAll allocates several regions; on error the ones made are freed.
func allocAll(sizes ...int) ([]*region, func(), error) {
	var rs []*region
	free := func() {
		for _, r := range rs {
			r.free()
		}
	}
	for _, s := range sizes {
		r, err := alloc(s)
		if err != nil {
			free()
			return nil, nil, err
		}
		rs = append(rs, r)
	}
	return rs, free, nil
}

func launch(ctx context.Context, d *simgpu.Device, k *kernels.Kernel, nd kernels.NDRange, args ...any) error {
	a, err := kernels.Bind(k, args...)
	if err != nil {
		return err
	}
	return d.Launch(ctx, k, nd, a)
}
