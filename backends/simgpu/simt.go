package simgpu

// How the simulated GPU groups work-items when it runs a compiled kernel
// (OpenCL C built for the simulated MMU), as real hardware and UVM see it:
//
//   - Work-items execute in warps of WarpSize. A warp's accesses to one page
//     in a fault round raise one fault: the GPU's L1 TLB coalesces the
//     lanes' misses into one request per page, and the UVM fault buffer
//     receives one entry per (µTLB, page). So a float saxpy over fresh
//     memory raises 32 faults per 4 KiB page (one per warp that touches
//     it), not 1,024.
//   - The warps of a work-group run on one SM (compute unit) and share its
//     L1 TLB: a translation one warp brought in serves the others.
//
// Sources: warp size 32 — NVIDIA's warp (GPGPU-Sim configurations model
// it as gpgpu_shader_core_pipeline 2048:32); the per-SM TLB of 4096
// entries is UVMSmart's (Ganguly et al., ISCA'19) GeForceGTX1080Ti
// configuration, "-tlb_size 4096 # number of tlb entries per SM", a fully
// associative TLB; svmrt models it 8-way set-associative with true LRU
// per set (a cheaper lookup; a simulator choice, not a published figure).
const (
	DefaultWarpSize     = 32
	DefaultSMTLBEntries = 4096
	DefaultSMTLBWays    = 8
)

// WithWarpSize sets the number of work-items per warp for compiled kernels
// (default DefaultWarpSize).
func WithWarpSize(n int) Option { return func(c *config) { c.warp = n } }

// WithSMTLB sets the per-SM L1 TLB used by compiled kernels: entries in
// sets of ways (defaults DefaultSMTLBEntries, DefaultSMTLBWays; both are
// rounded up to powers of two).
func WithSMTLB(entries, ways int) Option {
	return func(c *config) { c.smTLBEntries, c.smTLBWays = entries, ways }
}
