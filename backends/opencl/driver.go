package opencl

import (
	"errors"
	"fmt"
	"time"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/svm"
)

// OpenCL devices as a backend: registration (one kind, "opencl", with a
// device per OpenCL device of every platform) and the contract's required
// methods.

func init() {
	backends.Register(backends.Driver{Name: "opencl", Order: 30, Devices: deviceNames, Open: openDriver})
}

// deviceNames lists "opencl:0", "opencl:1", ...: asking loads the OpenCL
// implementation (see the package doc). Where OpenCL is unavailable the
// error says why and wraps svm.ErrNotSupported and ErrUnavailable.
func deviceNames() ([]string, error) {
	devs, err := Devices()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", svm.ErrNotSupported, err)
	}
	names := make([]string, len(devs))
	for i := range devs {
		names[i] = fmt.Sprintf("opencl:%d", i)
	}
	return names, nil
}

// openDriver opens the index-th OpenCL device with the options given for
// it (WithMode, WithCloseTimeout). OpenCL being unavailable here is
// svm.ErrNotSupported, an index beyond the devices backends.ErrUnknownDevice;
// both keep the reason and this package's error in the chain.
func openDriver(index int, cfg backends.Config) (backends.Backend, error) {
	var opts []Option
	if cfg.BufferMode {
		opts = append(opts, WithMode(ModeBuffer))
	}
	for _, o := range cfg.Options {
		if oo, ok := o.(Option); ok {
			opts = append(opts, oo)
		}
	}
	d, err := Open(index, opts...)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, ErrUnavailable):
		return nil, fmt.Errorf("%w: %w", svm.ErrNotSupported, err)
	case errors.Is(err, ErrNoDevice):
		return nil, fmt.Errorf("%w: %w", backends.ErrUnknownDevice, err)
	}
	return nil, err
}

// Backend says that this option is OpenCL's (backends.Option).
func (Option) Backend() string { return "opencl" }

var (
	_ backends.Backend        = (*Device)(nil)
	_ backends.MemoryCommands = (*Device)(nil)
	_ backends.MemMigrator    = (*Device)(nil)
	_ backends.HostSync       = (*Device)(nil)
	_ backends.Option         = Option(nil)
)

// Info says what the device is and what it can do.
func (d *Device) Info() backends.Info {
	return backends.Info{Name: d.Name(), Caps: d.Caps(), Description: d.Describe()}
}

// Stats: Launches, BytesH2D/BytesD2H (bytes staged into and out of SVM
// buffers in buffer mode, and bytes copied by Copy), HostTime (wall time in
// Launch). The rest is zero: an OpenCL device reports no faults, and every
// launch runs the kernel's OpenCL C.
func (d *Device) Stats() backends.Stats {
	n := d.launches.Load()
	return backends.Stats{
		Launches:         n,
		CompiledLaunches: n,
		BytesH2D:         d.bytesIn.Load(),
		BytesD2H:         d.bytesOut.Load(),
		HostTime:         time.Duration(d.hostNs.Load()),
	}
}
