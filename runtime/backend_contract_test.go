package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// serialDevice is the smallest backend the contract allows: the required
// methods and nothing else. It runs a kernel's Go body one work-group at a
// time on the calling goroutine, on host memory as it is.
type serialDevice struct {
	launches atomic.Int64
	closed   atomic.Bool
}

func (s *serialDevice) Name() string { return "serial" }

func (s *serialDevice) Info() backends.Info {
	return backends.Info{Name: "serial", Caps: svm.Caps{Coherent: true, PageSize: svm.PageSize}, Description: "one work-group at a time on the host"}
}

func (s *serialDevice) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	if s.closed.Load() {
		return svm.ErrClosed
	}
	s.launches.Add(1)
	for g := range nd.TotalGroups() {
		if err := kernels.RunGroup(k, nd, g, a, kernels.GroupConfig{}); err != nil {
			return err
		}
	}
	return nil
}

func (s *serialDevice) Stats() backends.Stats { return backends.Stats{Launches: s.launches.Load()} }

func (s *serialDevice) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("serial: close: %w", svm.ErrClosed)
	}
	return nil
}

var _ backends.Backend = (*serialDevice)(nil)

// A backend added outside the runtime needs its own type and one Register
// call: Open, the device list and every command find it through the
// registry, and the capabilities it lacks are ErrNotSupported, not a
// crash.
func TestMinimalBackendNeedsOnlyRegistration(t *testing.T) {
	backends.Register(backends.Driver{Name: "serial", Order: 99, Open: func(int, backends.Config) (backends.Backend, error) { return &serialDevice{}, nil }})
	t.Cleanup(func() { backends.Unregister("serial") })

	if names := svmrt.DeviceNames(); !slices.Contains(names, "serial") || names[len(names)-1] != "serial" {
		t.Errorf("DeviceNames() = %v, want serial last (Order 99)", names)
	}
	if err := svmrt.Unavailable("serial"); err != nil {
		t.Errorf("Unavailable(serial) = %v", err)
	}
	dev, err := svmrt.Open("Serial")
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.Info(); got.Name != "serial" || !got.Caps.Coherent {
		t.Errorf("Info() = %+v", got)
	}
	const n = 3000
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	if err := svmrt.Saxpy(context.Background(), dev, y, x, 2); err != nil {
		t.Fatal(err)
	}
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 2*float32(i)+1)
		}
	}
	if st := dev.Stats(); st.Launches != 1 {
		t.Errorf("Stats().Launches = %d, want 1", st.Launches)
	}
	if _, ok := dev.SimStats(); ok {
		t.Error("SimStats reports counters for a backend that is no Simulator")
	}
	if dev.Location() != svmrt.Host {
		t.Errorf("Location() = %v, want host (no private memory)", dev.Location())
	}

	// Optional capabilities it lacks.
	p := unsafe.Pointer(&x[0])
	if err := dev.Prefetch(p, 4096); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("Prefetch: %v, want ErrNotSupported", err)
	}
	if _, err := dev.Migrate(p, 4096); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("Migrate: %v, want ErrNotSupported", err)
	}
	if _, err := dev.MakeExclusive(context.Background(), p, 4096); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("MakeExclusive: %v, want ErrNotSupported", err)
	}
	ev, err := dev.Memcpy(context.Background(), unsafe.Pointer(&y[0]), p, 64)
	if err == nil {
		err = ev.Wait(context.Background())
	}
	var ce *svmrt.CommandError
	if !errors.Is(err, svmrt.ErrNotSupported) || !errors.As(err, &ce) || ce.Op != "memcpy" || ce.Device != "serial" {
		t.Errorf("Memcpy: %v, want a CommandError for memcpy on serial wrapping ErrNotSupported", err)
	}
	// Map and Unmap are synchronisation points every device has.
	for what, cmd := range map[string]func(context.Context, unsafe.Pointer, uintptr) (*svmrt.Event, error){"map": dev.Map, "unmap": dev.Unmap} {
		ev, err := cmd(context.Background(), p, 4096)
		if err == nil {
			err = ev.Wait(context.Background())
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); !errors.Is(err, svmrt.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if _, err := svmrt.Open("serial", svmrt.WithPolicy("uvm")); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("Open(serial, WithPolicy(uvm)): %v, want ErrNotSupported (the kind has no policies)", err)
	}
}

// Device names are resolved by the registry: unknown kinds and indexes are
// ErrUnknownDevice listing what is known, in the registry's order.
func TestOpenUnknownDeviceListsKinds(t *testing.T) {
	for _, name := range []string{"tpu", "cpu:1", "simgpu:x", "simgpu:-1"} {
		_, err := svmrt.Open(name)
		if !errors.Is(err, svmrt.ErrUnknownDevice) {
			t.Errorf("Open(%q): %v, want ErrUnknownDevice", name, err)
		}
	}
	_, err := svmrt.Open("tpu")
	if want := "(known: cpu, simgpu, opencl)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open(tpu): %v, want the kinds listed %s", err, want)
	}
}

// Each error says the command and the device once, however many layers
// (runtime, backend, address space) named them.
func TestCommandErrorSaysContextOnce(t *testing.T) {
	for _, name := range svmrt.DeviceNames() {
		dev, err := svmrt.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		// A kernel writing read-only memory: runtime, backend and address
		// space each know the device.
		ro, err := syscall.Mmap(-1, 0, svm.PageSize, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		y := testmem.Float32s(ro)
		err = dev.Run(context.Background(), kernels.Saxpy, kernels.SaxpyRange(len(y)), y, y, float32(1), int32(len(y)))
		if got := fmt.Sprint(err); !errors.Is(err, svmrt.ErrPermission) || strings.Count(got, dev.Name()) != 1 {
			t.Errorf("%s: write to read-only memory: %q, want ErrPermission naming the device once", name, got)
		}
		syscall.Munmap(ro)
		dev.Close()
		err = dev.Close()
		if got, want := fmt.Sprint(err), "runtime: close on "+dev.Name()+": device closed"; got != want {
			t.Errorf("%s: second Close: %q, want %q", name, got, want)
		}
		x := make([]float32, 1024)
		_, err = dev.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(len(x)), x, x, float32(1), int32(len(x)))
		if got := fmt.Sprint(err); strings.Count(got, dev.Name()) != 1 || strings.Count(got, "saxpy") != 1 {
			t.Errorf("%s: launch after Close: %q names the device or the kernel more than once", name, got)
		}
	}
}
