// Package kernels is svmrt's kernel programming model and its kernel library.
//
// # The model
//
// A [Kernel] is the same computation written twice: an OpenCL C 2.0 source (for
// real OpenCL devices) and a Go body (for the cpu and simgpu backends). Both
// follow OpenCL NDRange semantics: an [NDRange] of 1 to 3 dimensions is cut into
// work-groups of [NDRange.GroupSize] work-items; every work-item runs the body
// once with its own [Item], which answers the OpenCL work-item functions
// (get_global_id, get_local_id, get_group_id, ...), gives the group's local
// memory, a work-group [Item.Barrier], and global-memory loads, stores and
// atomics.
//
// Pointer arguments are the program's own host addresses (fine-grained system
// SVM): a kernel receives the address of a make'd slice's backing array, or of
// any Go object, and may load pointers stored in memory and follow them
// (see [ListWalk]). [Bind] turns Go values into [Args]: one 64-bit word per
// parameter plus the host [Range] each pointer names, which backends use to
// pre-fault or migrate memory, and Args.Keep, which keeps the referenced
// objects alive (and, since Go's heap is non-moving and every value passed to
// Bind escapes to the heap, at a fixed address) for the launch.
//
// # Memory access
//
// Every global-memory access of a body goes through an Item accessor such as
// [Item.LoadF32]. An Item either has a [Mem] (the backend mediates the access:
// simgpu translates it through its simulated MMU, which may fault and block the
// work-item) or none, in which case the accessor is a plain load or store
// through an unsafe pointer. The accessors are small enough to inline, so on
// the host path a body's access costs a nil check and a load (see the
// benchmarks in this package). Host-direct atomics use sync/atomic on the
// address.
//
// Local memory ([Item.Local], [Item.LocalF32]) is always a Go slice private to
// the work-group: it models on-chip memory, which no MMU mediates.
//
// # Execution
//
// [RunGroup] executes one work-group. Backends own the scheduling of groups
// (the cpu backend spreads them over worker goroutines; simgpu runs them in
// deterministic waves) and call RunGroup for each. Work-items of a group run
// one after another in the calling goroutine, or, when the kernel uses barriers
// or the backend asks for it (so that one blocked item does not stall the
// others), one goroutine per work-item. A failing work-item never crashes the
// process and never hangs its group: a [*Abort] panic (the way a [Mem] reports
// a device fault), any other panic, a memory fault on the host path, and
// barrier divergence all end the group with an error, releasing every item
// waiting at a barrier.
//
// # Library
//
// The library kernels are [MulMat] (the seed's gpu_mul_mat), [Saxpy],
// [SumReduce] (local memory and barriers), [Histogram] (global atomics) and
// [ListWalk] (pointer chasing through ordinary Go structs). Each comes with an
// NDRange helper and a plain-Go reference (RefMulMat, ...) that tests and the
// conformance suite compare every backend against.
package kernels
