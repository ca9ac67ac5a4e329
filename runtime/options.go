package runtime

import (
	"github.com/svmrt/svmrt/backends"
)

// Option configures Open. Each option says what it asks for; a device
// that has no use for it (the size of device memory, on the host cores)
// ignores it, except WithPolicy, which a device without memory policies
// refuses.
type Option func(*backends.Config)

// WithVRAM sets a simulated GPU's memory size in bytes.
func WithVRAM(bytes int64) Option { return func(c *backends.Config) { c.VRAM = bytes } }

// WithPCIeGen sets a simulated GPU's link generation (3, 4 or 5).
func WithPCIeGen(gen int) Option { return func(c *backends.Config) { c.PCIeGen = gen } }

// WithWorkers sets the number of host goroutines the cpu device uses.
func WithWorkers(n int) Option { return func(c *backends.Config) { c.Workers = n } }

// WithGoBodies makes cpu and simgpu run the Go Body of kernels that have
// one instead of compiling their OpenCL C source (to cross-check the two:
// see kernels/kerneltest). opencl always runs the source.
func WithGoBodies() Option { return func(c *backends.Config) { c.GoBodies = true } }

// WithoutFastPaths makes the cpu device skip kernels' hand-written HostFast
// paths (MulMat's sgemm), so every launch runs the kernel itself.
func WithoutFastPaths() Option { return func(c *backends.Config) { c.NoFastPaths = true } }

// WithBufferMode makes a device that can either access the program's
// memory directly or stage what a launch names in device buffers stage it
// (OpenCL's buffer mode, the contract for devices that cannot fault).
// Devices without such a choice ignore it.
func WithBufferMode() Option { return func(c *backends.Config) { c.BufferMode = true } }

// WithPolicy sets a device's memory policy by name (PolicyNames lists a
// kind's; `svmrt policies` compares them). The simulated GPU's default is
// "demand". Opening a kind that has no policy of that name is an error
// wrapping ErrNotSupported.
func WithPolicy(name string) Option { return func(c *backends.Config) { c.Policy = name } }

// WithProgress calls fn as launches progress (see Progress).
func WithProgress(fn func(Progress)) Option { return func(c *backends.Config) { c.Progress = fn } }

// WithBackendOptions passes options straight to the backend they belong to
// (simgpu.WithTLBEntries, opencl.WithCloseTimeout, ...): each names its
// backend, and the others ignore it.
func WithBackendOptions(opts ...backends.Option) Option {
	return func(c *backends.Config) { c.Options = append(c.Options, opts...) }
}
