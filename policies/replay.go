package policies

import (
	"context"
	"fmt"
	"time"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/backends/simgpu"
)

// Comparing policies on one recording: each workload runs once on a
// recording device (simgpu.Recorder), and its access trace is replayed on a
// fresh device under each policy (simgpu.Replay). The table is the one Run
// gives, every column deterministic; a row's result says only that the
// replay ran (the recording run checked the workload's answers).

// RecordVRAM is the device memory of the recording device: it must hold
// every VA block a workload touches (the recording keeps them there, see
// simgpu.Recorder).
const RecordVRAM = simgpu.DefaultVRAM

// Record runs w once on a recording device, checks its results, and
// returns its access trace, whose VRAM is w's.
func Record(ctx context.Context, w Workload) (*simgpu.AccessTrace, error) {
	rec, err := simgpu.NewRecorder(w.Name)
	if err != nil {
		return nil, err
	}
	d, err := simgpu.New(simgpu.WithVRAM(max(RecordVRAM, w.VRAM)), simgpu.WithRecorder(rec), simgpu.WithName("simgpu"))
	if err != nil {
		rec.Stop()
		return nil, err
	}
	runErr := w.Run(ctx, d)
	tr, stopErr := rec.Stop()
	closeErr := d.Close()
	switch {
	case runErr != nil:
		return nil, fmt.Errorf("policies: record %s: %w", w.Name, runErr)
	case stopErr != nil:
		return nil, stopErr
	case closeErr != nil:
		return nil, fmt.Errorf("policies: record %s: close: %w", w.Name, closeErr)
	}
	tr.VRAM = w.VRAM
	return tr, nil
}

// ReplayOne replays tr under one policy on a fresh device with tr's device
// memory (the default when it has none). The error is for a device that
// could not be made; a failed replay is in Result.Err.
func ReplayOne(ctx context.Context, tr *simgpu.AccessTrace, policy string, opts ...simgpu.Option) (Result, error) {
	p, err := simgpu.PolicyByName(policy)
	if err != nil {
		return Result{}, err
	}
	vram := tr.VRAM
	if vram == 0 {
		vram = simgpu.DefaultVRAM
	}
	opts = append([]simgpu.Option{simgpu.WithVRAM(vram), simgpu.WithPolicy(p), simgpu.WithName("simgpu")}, opts...)
	d, err := simgpu.New(opts...)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	runErr := simgpu.Replay(ctx, d, tr)
	res := Result{Workload: tr.Name, Policy: p.Name(), Stats: backends.CountersOf(d), Clock: d.Clock(), Host: time.Since(start), Err: runErr}
	if err := d.Close(); err != nil && res.Err == nil {
		res.Err = fmt.Errorf("close: %w", err)
	}
	return res, nil
}

// ReplayAll replays every trace under every policy, in trace-major order
// (progress as Run's).
func ReplayAll(ctx context.Context, trs []*simgpu.AccessTrace, policyNames []string, progress func(i, n int, w, p string)) ([]Result, error) {
	var out []Result
	n := len(trs) * len(policyNames)
	for _, tr := range trs {
		for _, pn := range policyNames {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if progress != nil {
				progress(len(out)+1, n, tr.Name, pn)
			}
			r, err := ReplayOne(ctx, tr, pn)
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}
