package policies

import (
	"context"
	"fmt"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Sizes of the standard workloads.
const (
	MulMatN        = 256        // mulmat: 256×256 float32 (256 KiB per matrix)
	StreamN        = 768 << 10  // stream: saxpy over 768 Ki floats (3 MiB per array, 6 MiB footprint)
	Stream3xN      = 1536 << 10 // stream-3x: 6 MiB per array, 12 MiB footprint
	GatherSrcN     = 1 << 20    // gather: 4 MiB source
	GatherN        = 64 << 10   // gather: 64 Ki lookups
	PingPongPages  = 64         // pingpong: pages shared by the CPU and the device
	PingPongRounds = 30         // pingpong: kernel/CPU turns
	AdviceN        = 256 << 10  // advice workloads: 1 MiB per array
)

// Workloads returns the standard workloads, in table order.
func Workloads() []Workload {
	return []Workload{
		{Name: "mulmat", Doc: "sgemm-like: r = a·b, 256×256", VRAM: 256 << 20, Run: runMulMat},
		{Name: "stream", Doc: "saxpy twice over 6 MiB, fits in 8 MiB of device memory", VRAM: 8 << 20,
			Run: func(ctx context.Context, d *simgpu.Device) error { return runStream(ctx, d, StreamN) }},
		{Name: "stream-1.5x", Doc: "saxpy twice over 6 MiB with 4 MiB of device memory (1.5× oversubscribed)", VRAM: 4 << 20,
			Run: func(ctx context.Context, d *simgpu.Device) error { return runStream(ctx, d, StreamN) }},
		{Name: "stream-3x", Doc: "saxpy twice over 12 MiB with 4 MiB of device memory (3× oversubscribed)", VRAM: 4 << 20,
			Run: func(ctx context.Context, d *simgpu.Device) error { return runStream(ctx, d, Stream3xN) }},
		{Name: "gather", Doc: "random gather: 64 Ki lookups into 4 MiB", VRAM: 256 << 20, Run: runGather},
		{Name: "pingpong", Doc: "CPU and device take turns incrementing one int per page of 64 pages, 30 rounds",
			VRAM: 256 << 20, Run: runPingPong, Short: true},
		{Name: "advice-host", Doc: "saxpy on 1 MiB advised preferred-location host + accessed-by the device",
			VRAM: 256 << 20, Run: runAdviceHost, Short: true},
		{Name: "read-mostly", Doc: "gather twice from a read-mostly source, the CPU reading it in between",
			VRAM: 256 << 20, Run: runReadMostly, Short: true},
		{Name: "prefetched", Doc: "saxpy on 1 MiB prefetched to the device before the launch",
			VRAM: 256 << 20, Run: runPrefetched, Short: true},
	}
}

// WorkloadByName returns a standard workload.
func WorkloadByName(name string) (Workload, bool) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// DefaultPolicies are the policies the table compares by default.
func DefaultPolicies() []string {
	return []string{"demand", "prefetch", "uvm-nothrash", "uvm", "remote-only"}
}

// lcg is a deterministic pseudo-random sequence (Knuth's MMIX constants).
type lcg uint64

func (l *lcg) next() uint32 {
	*l = *l*6364136223846793005 + 1442695040888963407
	return uint32(*l >> 33)
}

func fill(xs []float32, seed uint64) {
	g := lcg(seed)
	for i := range xs {
		xs[i] = float32(g.next()%1000) / 100
	}
}

func runMulMat(ctx context.Context, d *simgpu.Device) error {
	m := MulMatN
	rs, free, err := allocAll(m*m*4, m*m*4, m*m*4)
	if err != nil {
		return err
	}
	defer free()
	r, a, b := rs[0].f32(), rs[1].f32(), rs[2].f32()
	fill(a, 1)
	fill(b, 2)
	if err := launch(ctx, d, kernels.MulMat, kernels.MulMatRange(m), r, a, b, int32(m)); err != nil {
		return err
	}
	want := make([]float32, m*m)
	kernels.RefMulMat(want, a, b, m)
	return compareF32("r", r, want)
}

// runSaxpy runs y = 2x + y passes times over n floats. before, if not nil,
// runs after the data is initialised and the reference computed (advice,
// prefetch); computing the reference first matters: reading x later would
// fault it home.
func runSaxpy(ctx context.Context, d *simgpu.Device, n, passes int, before func(y, x *region) error) error {
	rs, free, err := allocAll(n*4, n*4)
	if err != nil {
		return err
	}
	defer free()
	y, x := rs[0].f32(), rs[1].f32()
	fill(x, 3)
	fill(y, 4)
	want := append([]float32(nil), y...)
	for pass := 0; pass < passes; pass++ {
		kernels.RefSaxpy(want, x, 2, n)
	}
	if before != nil {
		if err := before(rs[0], rs[1]); err != nil {
			return err
		}
	}
	for pass := 0; pass < passes; pass++ {
		if err := launch(ctx, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(2), int32(n)); err != nil {
			return err
		}
	}
	return compareF32("y", y, want)
}

// runStream streams twice over n floats: the second pass finds what the
// first left resident (all of it when the data fits, the last chunks only
// when it does not).
func runStream(ctx context.Context, d *simgpu.Device, n int) error {
	return runSaxpy(ctx, d, n, 2, nil)
}

// runAdviceHost: preferred location host + accessed-by the device.
func runAdviceHost(ctx context.Context, d *simgpu.Device) error {
	return runSaxpy(ctx, d, AdviceN, 1, func(y, x *region) error {
		for _, r := range []*region{y, x} {
			if err := advise(r, svm.SetPreferredLocation, svm.LocationHost); err != nil {
				return err
			}
			if err := advise(r, svm.SetAccessedBy, d.Location()); err != nil {
				return err
			}
		}
		return nil
	})
}

// runPrefetched prefetches both arrays before the launch.
func runPrefetched(ctx context.Context, d *simgpu.Device) error {
	return runSaxpy(ctx, d, AdviceN, 1, func(y, x *region) error {
		for _, r := range []*region{y, x} {
			if err := d.Prefetch(r.addr(), uintptr(len(r.data))); err != nil {
				return err
			}
		}
		return nil
	})
}

// gatherData is the gather workloads' memory: out, the source and the
// indices (deterministic pseudo-random) in 2 MiB-aligned mappings.
type gatherData struct {
	regions  []*region // out, src, idx
	out, src []float32
	idx      []uint32
}

func newGather() (*gatherData, func(), error) {
	rs, free, err := allocAll(GatherN*4, GatherSrcN*4, GatherN*4)
	if err != nil {
		return nil, nil, err
	}
	g := &gatherData{regions: rs, out: rs[0].f32(), src: rs[1].f32(), idx: rs[2].u32()}
	fill(g.src, 5)
	r := lcg(6)
	for i := range g.idx {
		g.idx[i] = r.next() % uint32(len(g.src))
	}
	return g, free, nil
}

func runGather(ctx context.Context, d *simgpu.Device) error {
	g, free, err := newGather()
	if err != nil {
		return err
	}
	defer free()
	if err := launch(ctx, d, kernels.Gather, kernels.GatherRange(GatherN), g.out, g.src, g.idx, int32(GatherN)); err != nil {
		return err
	}
	want := make([]float32, GatherN) // reading src now faults it home: part of the workload
	kernels.RefGather(want, g.src, g.idx, GatherN)
	return compareF32("out", g.out, want)
}

func runPingPong(ctx context.Context, d *simgpu.Device) error {
	const stride = svm.PageSize / 4
	rs, free, err := allocAll(PingPongPages * svm.PageSize)
	if err != nil {
		return err
	}
	defer free()
	p := rs[0].i32()
	for round := 0; round < PingPongRounds; round++ {
		if err := launch(ctx, d, kernels.StrideAdd, kernels.StrideAddRange(PingPongPages), p, int32(stride), int32(1), int32(PingPongPages)); err != nil {
			return err
		}
		for i := 0; i < PingPongPages; i++ {
			p[i*stride]++ // the CPU's turn: a real fault if the page is on the device
		}
	}
	for i := 0; i < PingPongPages; i++ {
		if p[i*stride] != 2*PingPongRounds {
			return fmt.Errorf("pingpong: p[%d] = %d, want %d", i*stride, p[i*stride], 2*PingPongRounds)
		}
	}
	return nil
}

func runReadMostly(ctx context.Context, d *simgpu.Device) error {
	g, free, err := newGather()
	if err != nil {
		return err
	}
	defer free()
	rs, out, src, idx := g.regions, g.out, g.src, g.idx
	// The inputs are read-mostly; the output lives on the host and the
	// device writes it remotely, so nothing needs writing back.
	for _, r := range rs[1:] {
		if err := advise(r, svm.SetReadMostly, svm.LocationNone); err != nil {
			return err
		}
	}
	if err := advise(rs[0], svm.SetPreferredLocation, svm.LocationHost); err != nil {
		return err
	}
	if err := advise(rs[0], svm.SetAccessedBy, d.Location()); err != nil {
		return err
	}
	want := make([]float32, GatherN)
	kernels.RefGather(want, src, idx, GatherN)
	srcCopy := append([]float32(nil), src...)
	for pass := 0; pass < 2; pass++ {
		if err := launch(ctx, d, kernels.Gather, kernels.GatherRange(GatherN), out, src, idx, int32(GatherN)); err != nil {
			return err
		}
		// The CPU reads the source between the launches: with duplicates
		// the host pages are still there, so this takes no fault.
		if err := compareF32("src", src, srcCopy); err != nil {
			return err
		}
		if err := compareF32("out", out, want); err != nil {
			return fmt.Errorf("pass %d: %w", pass, err)
		}
	}
	return nil
}

func advise(r *region, kind svm.AdviceKind, loc svm.Location) error {
	return svm.Advise(r.addr(), uintptr(len(r.data)), kind, loc)
}

func compareF32(name string, got, want []float32) error {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
	return nil
}
