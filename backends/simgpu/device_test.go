package simgpu

import (
	"context"
	"testing"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

func newDev(t testing.TB, opts ...Option) *Device {
	t.Helper()
	d, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func run(t testing.TB, d *Device, k *kernels.Kernel, nd kernels.NDRange, vals ...any) error {
	t.Helper()
	a, err := kernels.Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return d.Launch(context.Background(), k, nd, a)
}

func TestSaxpySmoke(t *testing.T) {
	d := newDev(t)
	n := 1 << 16
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	t.Logf("stats %+v clock %v svc %+v", st, d.Clock(), svm.Default().ServiceStats())
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v", i, y[i])
		}
	}
	st2 := d.Stats()
	t.Logf("after read: %+v", st2)
	if st.DeviceFaults == 0 || st.PagesH2D == 0 || st2.CPUFaults == 0 {
		t.Fatal("expected faults and migrations")
	}
}

func TestMulMatSmoke(t *testing.T) {
	d := newDev(t)
	m := 128
	if !testing.Short() {
		m = 256
	}
	a, b, r, ref := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range a {
		a[i], b[i] = float32(i%7), float32(i%5)
	}
	if err := run(t, d, kernels.MulMat, kernels.MulMatRange(m), r, a, b, int32(m)); err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v clock %v", d.Stats(), d.Clock())
	kernels.RefMulMat(ref, a, b, m)
	for i := range r {
		if r[i] != ref[i] {
			t.Fatalf("r[%d]=%v want %v", i, r[i], ref[i])
		}
	}
}

// counters is everything a simulated GPU counts: the generic counters and
// the simulator's own (clock, TLB, remote accesses), comparable as one.
type counters = backends.Counters

func countersOf(d *Device) counters { return backends.CountersOf(d) }

// migrateErr is Migrate's error alone (for tables of commands).
func migrateErr(d *Device, p, n uintptr) error {
	_, err := d.Migrate(p, n)
	return err
}
