package simgpu

import (
	"math"
	"syscall"
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

// Work-items that fault before they have written anything give their run up
// and start again once the fault is serviced (internal/devrt's fault()).
// These tests pin down what must not change when they do: nothing is done
// twice, nothing is counted twice, and progress is guaranteed even when
// device memory cannot hold what an item needs at once.

const restartSrc = `
__kernel void count_then_copy(__global int *count, __global int *out, __global const int *in) {
	atomic_inc(count);              // before any fault: must happen exactly once per item
	int g = get_global_id(0);
	out[g] = in[g];
}
__kernel void sum_after_loads(__global int *sum, __global const int *a, __global const int *b) {
	int g = get_global_id(0);
	atomic_add(sum, a[g] + b[g]);   // after two loads that fault on fresh memory
}
__kernel void skewed_barrier(__global int *out, __global const int *in, __local int *tmp) {
	// The first 32 items of a group reach the barrier without a fault; the
	// others fault on in and restart while those wait.
	int l = get_local_id(0), g = get_global_id(0), n = get_local_size(0);
	tmp[l] = l < 32 ? 0 : in[g];
	barrier(CLK_LOCAL_MEM_FENCE);
	out[g] = tmp[n - 1 - l];
}
__kernel void local_count(__global int *out, __global const int *in, __local int *cnt) {
	atomic_inc(cnt);             // a __local write (local memory starts zeroed), then a fault on in
	int v = in[get_global_id(0)];
	barrier(CLK_LOCAL_MEM_FENCE);
	out[get_global_id(0)] = *cnt + v;
}
__kernel void three(__global float *out, __global const float *a, __global const float *b, __global const float *c) {
	int g = get_global_id(0);
	out[g] = a[g] + b[g] * c[g];
}
`

// restartProgram compiles restartSrc (skipping without a toolchain).
func restartProgram(t *testing.T) *kernels.Program {
	t.Helper()
	needCompiler(t)
	p, err := kernels.Compile(restartSrc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// freshI32 is freshF32 for int32s.
func freshI32(t *testing.T, n int) []int32 {
	t.Helper()
	return testmem.Int32s(testmem.Map(t, n*4, syscall.PROT_READ|syscall.PROT_WRITE))
}

// freshSeq is freshI32 holding i % mod at index i.
func freshSeq(t *testing.T, n, mod int) []int32 {
	s := freshI32(t, n)
	for i := range s {
		s[i] = int32(i % mod)
	}
	return s
}

// An atomic made before an item's first fault is not repeated when the item
// waits for the fault (it parks instead of restarting), and one made after
// faulting loads is made once, with the loaded values.
func TestRestartDoesNotRepeatAtomics(t *testing.T) {
	p := restartProgram(t)
	d := newDev(t)
	const n = 64 << 10
	count, out, in := freshI32(t, 1), freshI32(t, n), freshSeq(t, n, n)
	if err := run(t, d, p.Kernel("count_then_copy"), kernels.Range1D(n, 256), count, out, in); err != nil {
		t.Fatal(err)
	}
	if count[0] != n {
		t.Errorf("count = %d after %d work-items, want %d (an atomic was repeated or lost)", count[0], n, n)
	}
	for i := range out {
		if out[i] != int32(i) {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], i)
		}
	}
	sum, a, b := freshI32(t, 1), freshI32(t, n), freshI32(t, n)
	var want int32
	for i := range a {
		a[i], b[i] = int32(i%13), int32(i%7)
		want += a[i] + b[i]
	}
	if err := run(t, d, p.Kernel("sum_after_loads"), kernels.Range1D(n, 256), sum, a, b); err != nil {
		t.Fatal(err)
	}
	if sum[0] != want {
		t.Errorf("sum = %d, want %d", sum[0], want)
	}
	if st := countersOf(d); st.DeviceFaults == 0 {
		t.Errorf("no device faults: the test did not exercise restarts (%+v)", st)
	}
}

// The accesses of runs given up are not counted: a kernel making three
// 4-byte accesses per item counts exactly three TLB lookups per item on
// fresh memory, as it does on memory already on the device.
func TestRestartCountsAccessesOnce(t *testing.T) {
	needCompiler(t)
	const n = 32 << 10
	x, y := freshF32(t, n), freshF32(t, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	d := newDev(t)
	before := countersOf(d)
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	st := countersOf(d)
	lookups := (st.TLBHits - before.TLBHits) + (st.TLBMisses - before.TLBMisses)
	if lookups != 3*n {
		t.Errorf("fresh memory: %d TLB lookups for %d items of 3 accesses, want %d", lookups, n, 3*n)
	}
	if st.DeviceFaults-before.DeviceFaults == 0 {
		t.Fatal("no device faults on fresh memory")
	}
	// Again, now that x and y are on the device: no faults, same lookups.
	before = st
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	st = countersOf(d)
	if f := st.DeviceFaults - before.DeviceFaults; f != 0 {
		t.Errorf("second launch: %d device faults, want 0", f)
	}
	if l := (st.TLBHits - before.TLBHits) + (st.TLBMisses - before.TLBMisses); l != 3*n {
		t.Errorf("resident memory: %d TLB lookups, want %d", l, 3*n)
	}
	for i := range y {
		if want := 4*float32(i) + 1; y[i] != want { // 2x + (2x + 1)
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want)
		}
	}
}

// With device memory smaller than what one wave of items needs resident at
// once, an item's pages are evicted while it waits for the next one: runs
// given up could repeat forever, so an item parks after a few, and the
// launch completes with the right answer.
func TestRestartProgressUnderMemoryPressure(t *testing.T) {
	p := restartProgram(t)
	// Each array in its own 2 MiB block: an item needs four chunks of
	// device memory at once, and there are two.
	d := newDev(t, WithVRAM(4<<20))
	const n = 64 << 10
	out, a, b, c := alignedF32(t, n), alignedF32(t, n), alignedF32(t, n), alignedF32(t, n)
	for i := range a {
		a[i], b[i], c[i] = float32(i), float32(i%3), 0.5
	}
	if err := run(t, d, p.Kernel("three"), kernels.Range1D(n, 256), out, a, b, c); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if want := a[i] + b[i]*c[i]; out[i] != want || math.IsNaN(float64(out[i])) {
			t.Fatalf("out[%d] = %v, want %v", i, out[i], want)
		}
	}
	st := countersOf(d)
	t.Logf("faults %d, batches %d, evictions %d, H→D %d pages", st.DeviceFaults, st.FaultBatches, st.Evictions, st.PagesH2D)
	if st.Evictions == 0 {
		t.Errorf("no evictions with two chunks of device memory: the test did not apply pressure")
	}
}

// An item that restarts while others of its group wait at a barrier is
// still live: it reaches the barrier when it runs again, and the group is
// not failed as divergent. (Found in review: the divergence check ran for
// restarted items as if they had returned.)
func TestRestartWhileGroupWaitsAtBarrier(t *testing.T) {
	p := restartProgram(t)
	d := newDev(t)
	const n, group = 4096, 128
	out, in := freshI32(t, n), freshSeq(t, n, n)
	if err := run(t, d, p.Kernel("skewed_barrier"), kernels.Range1D(n, group), out, in, group*4); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		l := i % group
		src := i - l + group - 1 - l
		want := int32(src)
		if group-1-l < 32 {
			want = 0
		}
		if out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
}

// A kernel that writes __local memory directly never restarts its items
// (those stores are not seen by the scheduler): a __local atomic made
// before a fault is made once. (Found in review: the count doubled.)
func TestRestartNotForLocalWrites(t *testing.T) {
	p := restartProgram(t)
	d := newDev(t)
	const n, group = 4096, 128
	out, in := freshI32(t, n), freshSeq(t, n, 3)
	if err := run(t, d, p.Kernel("local_count"), kernels.Range1D(n, group), out, in, 4); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if want := int32(group + i%3); out[i] != want {
			t.Fatalf("out[%d] = %d, want %d (the __local count is %d, want %d)", i, out[i], want, out[i]-int32(i%3), group)
		}
	}
}
