// Package bench measures what issue 9 promises of compiled kernels — every
// device running a kernel's OpenCL C — side by side with what it replaces,
// through the public runtime API:
//
//	(a) Loads: the host cost of one device memory access that hits the
//	    TLB, compiled simgpu kernel vs its Go body (goal ≤ 2 ns), with the
//	    same kernel compiled natively on cpu (no MMU) for reference. A
//	    custom kernel (kbench_loads) sums a resident page word by word; the
//	    accesses are counted by the device's TLB counters (hits + misses).
//	(b) Saxpy: host ns per element of kernels.Saxpy on warm memory, on
//	    simgpu (device-resident) and cpu, vs a plain Go loop (goals: cpu
//	    within 2× of the loop; simgpu at least 20× faster than the 551 ns
//	    per work-item of the Go body before issue 9).
//	(c) Fresh: host time per page migrated by device faults, a saxpy on
//	    simgpu over freshly mapped x and y (default 128 MiB each, 256 MiB
//	    in all), filled by the CPU before the (timed) launch (goal ≤ 20 µs
//	    per page; before: 2.7 ms).
//	(d) MulMat: kernels.MulMat's OpenCL C compiled for cpu (fast paths
//	    off) vs the same source on the first OpenCL device (PoCL here), in
//	    GFLOP/s (goal: at least PoCL's speed), with the cpu device's
//	    HostFast sgemm for reference.
//
// Each measurement is a Section of Cases; a Case opens a Runner with its
// own device and its own memory (mmap'd, so no two configurations share a
// page and nothing else of the process lives on the pages a device takes).
// The Go benchmarks in this package (go test -bench . ./bench) run each
// Case as a sub-benchmark and report the section's unit with
// b.ReportMetric; cmd/svmrt-kbench runs them all in one process, the cases
// of a section interleaved round-robin, and prints medians with ratios
// against the goals (make bench-kernels).
//
// The benchmarks' sizes are small by default so that `go test -bench .
// -benchtime 1x ./...` stays quick; the -kbench.* test flags (see
// bench_test.go) and the command's flags set the full sizes.
package bench
