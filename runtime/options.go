package runtime

import (
	"io"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/trace"
)

// Option configures Open. Each option says what it asks for; a device
// that has no use for it (the size of device memory, on the host cores)
// ignores it, except WithPolicy, which a device without memory policies
// refuses.
type Option func(*openConfig)

// openConfig is what Open's options say: the backend's configuration and
// what the runtime itself does (tracing).
type openConfig struct {
	backends.Config
	trace       io.Writer     // WithTrace's writer (nil: none, unless SVMRT_TRACE is set)
	sharedTrace *trace.Writer // WithSharedTrace's trace
}

// WithVRAM sets a simulated GPU's memory size in bytes.
func WithVRAM(bytes int64) Option { return func(c *openConfig) { c.VRAM = bytes } }

// WithPCIeGen sets a simulated GPU's link generation (3, 4 or 5).
func WithPCIeGen(gen int) Option { return func(c *openConfig) { c.PCIeGen = gen } }

// WithWorkers sets the number of host goroutines the cpu device uses.
func WithWorkers(n int) Option { return func(c *openConfig) { c.Workers = n } }

// WithGoBodies makes cpu and simgpu run the Go Body of kernels that have
// one instead of compiling their OpenCL C source (to cross-check the two:
// see kernels/kerneltest). opencl always runs the source.
func WithGoBodies() Option { return func(c *openConfig) { c.GoBodies = true } }

// WithoutFastPaths makes the cpu device skip kernels' hand-written HostFast
// paths (MulMat's sgemm), so every launch runs the kernel itself.
func WithoutFastPaths() Option { return func(c *openConfig) { c.NoFastPaths = true } }

// WithBufferMode makes a device that can either access the program's
// memory directly or stage what a launch names in device buffers stage it
// (OpenCL's buffer mode, the contract for devices that cannot fault).
// Devices without such a choice ignore it.
func WithBufferMode() Option { return func(c *openConfig) { c.BufferMode = true } }

// WithPolicy sets a device's memory policy by name (PolicyNames lists a
// kind's; `svmrt policies` compares them). The simulated GPU's default is
// "demand". Opening a kind that has no policy of that name is an error
// wrapping ErrNotSupported.
func WithPolicy(name string) Option { return func(c *openConfig) { c.Policy = name } }

// WithProgress calls fn as launches progress (see Progress).
func WithProgress(fn func(Progress)) Option { return func(c *openConfig) { c.Progress = fn } }

// WithBackendOptions passes options straight to the backend they belong to
// (simgpu.WithTLBEntries, opencl.WithCloseTimeout, ...): each names its
// backend, and the others ignore it.
func WithBackendOptions(opts ...backends.Option) Option {
	return func(c *openConfig) { c.Options = append(c.Options, opts...) }
}

// WithTrace writes the device's timeline to w as Chrome/Perfetto Trace
// Event JSON (package trace): every command, and on the simulated GPU
// every fault batch, migration, eviction, read duplicate, throttle, pin
// and CPU fault on its pages. The device owns the trace: Close ends and
// flushes it, and an error writing it is returned by Close (wrapping the
// writer's error), after everything else Close does; it never fails a
// command. WithTrace(nil) turns off the SVMRT_TRACE environment variable
// for this device.
func WithTrace(w io.Writer) Option {
	return func(c *openConfig) {
		c.trace, c.sharedTrace = w, nil
		if w == nil {
			c.trace = noTrace{}
		}
	}
}

// WithSharedTrace adds the device's events to t, which several devices
// may share; the caller closes t after closing them (trace.Writer.Close
// returns the first write error).
func WithSharedTrace(t *trace.Writer) Option {
	return func(c *openConfig) { c.trace, c.sharedTrace = nil, t }
}
