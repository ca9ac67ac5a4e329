// Package opencl is svmrt's backend for real OpenCL devices, through an
// in-repo binding of the OpenCL 2.x shared-virtual-memory API.
//
// # Loading
//
// The ICD loader (libOpenCL.so.1, or $SVMRT_OPENCL_LIB) is opened with
// dlopen at run time and every entry point is resolved with dlsym
// (clshim.c); types and constants are declared from the specification, so
// nothing OpenCL is needed to build. Without a loader, or with a loader that
// finds no platform (no vendor file; OCL_ICD_VENDORS pointing at an empty
// directory), Devices and Open return an error wrapping ErrUnavailable that
// says why, and the rest of svmrt works as before. An entry point the
// library lacks (clSVMAlloc on an OpenCL 1.2 loader, clEnqueueSVMMigrateMem
// on 2.0) makes the calls that need it fail with a *CLError wrapping
// svm.ErrNotSupported. Every error of an OpenCL call names the call and the
// status by name (CL_INVALID_KERNEL_ARGS, ...); a program that does not
// build is a *BuildError carrying the compiler's log (errors.Is(err,
// ErrBuild)).
//
// # Modes: how a kernel gets the program's pointers
//
// Open probes the device, once per process and device (an index the
// machine does not have is ErrNoDevice):
//
//   - pass-through: the kernel gets the program's raw pointers
//     (clSetKernelArgSVMPointer with a host address) — when the device
//     reports CL_DEVICE_SVM_FINE_GRAIN_SYSTEM, or when it is a CPU device on
//     which a probe kernel launched on a fresh mmap'd page read and wrote it
//     correctly ("probed host-pointer access"). Kernels may follow pointers
//     stored in memory (linked lists of Go structs). Launches also pass
//     clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, true)
//     when the device accepted it in the probe (a refusal is recorded in
//     the mode's reason and the flag is then not passed).
//   - buffer: every other device with SVM buffers. Before a launch, the
//     ranges the launch names (kernels.Range with Len > 0) are made
//     device-visible: overlapping ranges are merged (two parameters naming
//     the same slice share one buffer, so the kernel sees one consistent
//     copy), each merged range gets a clSVMAlloc buffer (fine-grained when
//     the device has it, else coarse-grained; both are filled and emptied
//     with clEnqueueSVMMemcpy), keeping the host address's alignment modulo
//     128 bytes, and each pointer argument becomes the buffer address plus
//     its offset; the buffers are listed with CL_KERNEL_EXEC_INFO_SVM_PTRS.
//     After the kernel, the ranges of parameters marked Written — those
//     byte ranges only, not the rest of a buffer a read-only parameter
//     shares with them (which need not be writable either) — are copied
//     back and the buffers freed. This is GMEM's contract for devices that cannot
//     fault: the runtime faults in what the launch names. A pointer argument
//     of unknown extent (unsafe.Pointer, uintptr) or a PtrAny argument whose
//     Go element type holds pointers (or uintptrs) — memory the kernel may
//     follow into memory the launch does not name — is svm.ErrNotSupported,
//     naming the kernel and parameter, before anything is enqueued: never a
//     wrong answer (a pointer of unknown extent to unmapped or inaccessible
//     memory is the device fault it would be in pass-through mode). (A kernel
//     that builds addresses out of plain integers is beyond what this check
//     can see.) A buffer-mode device is not coherent with the host while a
//     kernel runs (Caps().Coherent is false): the kernel sees the host's data
//     as it was at launch, the host sees the kernel's writes when Launch
//     returns, host writes to a Written range during the launch are
//     overwritten by the copy-back, and a kernel spinning on a flag the host
//     writes never ends. The conformance tests that need coherent concurrency
//     skip on such devices before launching anything.
//
// WithMode forces a mode (ModeBuffer runs the buffer path on PoCL, which is
// how it is tested). Mode, ModeReason and Describe report the mode and why.
//
// # A launch
//
// Launch checks, before anything is enqueued: ctx (an ended ctx enqueues
// nothing and returns ctx.Err()), the NDRange (kernels.ErrInvalidNDRange,
// also for a work-group larger than the device's
// CL_DEVICE_MAX_WORK_GROUP_SIZE or CL_DEVICE_MAX_WORK_ITEM_SIZES, the
// compiled kernel's CL_KERNEL_WORK_GROUP_SIZE, or other than its
// reqd_work_group_size), the arguments (Args.Check: count and kinds,
// kernels.ErrBadArgs), the program (built on first use, once per process
// and device: a *BuildError), the compiled kernel's signature against
// k.Params (argument count plus the trailing __local argument when
// k.LocalBytes is set; each argument's address space and type as
// -cl-kernel-arg-info reports them, CL_KERNEL_ARG_TYPE_NAME: F32 float,
// I32 int, U32 uint, I64 long (or long long), U64 ulong (or unsigned long
// long) by value; PtrF32 float*, PtrI32 int*, PtrU32 uint*, PtrU8 uchar*
// or char* (or their atomic_ types, or pointers to their vector types:
// float4*, uchar16*, <elem>N* with N 2, 3, 4, 8, 16) and PtrAny any
// pointer, __global or __constant; a mismatch is ErrBadArgs naming the
// parameter, never CL_INVALID_ARG_SIZE or a float's bits read as an int;
// a typedef'd name fits only PtrAny), and the host memory the launch names against
// /proc/self/maps (ErrDeviceFault for unmapped or PROT_NONE memory,
// ErrPermission for a Written parameter on read-only memory, as
// *svm.FaultError naming the first bad address; a NULL pointer argument is
// ErrDeviceFault in both modes). That check exists because a device thread
// that touches a bad address is not a goroutine: Go cannot turn PoCL's
// worker thread's SIGSEGV into a panic.
//
// What the check cannot see — how far a kernel goes through a pointer (a
// short pointer: a 1-page mapping indexed 4 pages deep), or pointers it
// loads from memory — is caught when it faults: a handler in front of Go's
// SIGSEGV and SIGBUS handlers (kernelfault.c) recognises a fault whose instruction is
// in a kernel's code (PoCL's kernel-cache objects) while a launch is in
// flight, records it and stops that thread for good (sleeping with every
// signal blocked). Resuming it cannot be done safely: the instruction can
// only be retried, so memory would have to be mapped under it, and a
// kernel running on past that would write whatever mapping follows.
// Stopped, the kernel touches nothing more on that thread, but its command
// never completes and PoCL has lost a worker. So the launch fails at once
// with a *svm.FaultError (svm.ErrDeviceFault) naming the kernel, the
// argument whose mapping (or, in buffer mode, staged range) the access ran
// past and the host address, joined with ErrDeviceLost; from then on every
// OpenCL device of the process is lost: commands waiting on it return
// ErrDeviceLost, and every later Open, launch, memory command and Close is
// ErrDeviceLost at once — as a GPU driver kills a context after a page fault
// it cannot resolve. The process and the host data outside what the kernel
// legitimately wrote survive; a new process gets a working device. In
// buffer mode on a CPU device, each staged buffer is followed by a
// PROT_NONE guard (16 bytes per work-item, at least a page and the data's
// length, at most 1 GiB of address space) so that an overrun faults there
// instead of writing PoCL's heap. Not caught: an overrun that lands in
// other accessible memory (pass-through mode reads and writes it, as raw
// pointers do), one beyond the guard or before the data, and a fault in
// code outside the kernel object (a libc routine the kernel calls), which
// kills the process as before. Scalars go through
// clSetKernelArg by value; dynamic local memory is clSetKernelArg(size,
// NULL). Kernel objects are pooled and shared by all Devices of an OpenCL
// device, in either mode, so every launch sets its clSetKernelExecInfo
// state afresh: FINE_GRAIN_SYSTEM on in pass-through mode and off in buffer
// mode (when the implementation accepts the flag), and SVM_PTRS to this
// launch's staging buffers, or to a small sentinel allocation of the
// context when it stages nothing (an empty list is not a valid value). Then
// clEnqueueNDRangeKernel, clFlush, and a wait for the event.
//
// If ctx ends while the kernel runs, Launch returns ctx.Err() at once,
// unless the launch has completed by then (a result that is ready wins).
// In buffer mode the copies in are enqueued without blocking and waited for
// with ctx too (they queue behind every earlier command, an abandoned
// kernel that still runs included): if ctx ends first, Launch returns
// ctx.Err(), its kernel is never enqueued, and its staging buffers are
// freed when the copies complete; ctx is checked again before the kernel
// is enqueued.
// In buffer mode the copy-back is decided once: either it has started, and
// Launch waits for it and returns its result, or Launch returns ctx.Err()
// and nothing is copied back, then or later. The kernel completes on the
// device (in pass-through mode it writes host memory until it does); only
// then are its staging buffers freed and its arguments released
// (runtime.KeepAlive of the Args). Close waits for every such command, up
// to the close timeout (WithCloseTimeout, default 30 s): OpenCL cannot
// abort a kernel, so a kernel that never ends makes Close return
// ErrCloseTimeout rather than block forever, and the queue is released
// when the command completes. Each later Close waits again up to the
// timeout and returns ErrCloseTimeout until then (never nil while a
// command still runs); Device.Done is closed once the device is fully
// released. A Close after the one that reported the release is an error
// wrapping svm.ErrClosed, as is every command on a closed device.
//
// Pages the svm core has migrated into the simulated GPU's memory are
// absent from the host page table; a PoCL worker that touches one takes a
// userfaultfd fault that svm's C service thread resolves, so pass-through
// works on any memory of the program. Addresses cross into C only as
// integers (cgo's pointer rules), and the objects stay alive through the
// launch's Args.
//
// # Memory commands
//
// Copy, Fill, Map, Unmap and MigrateMem mirror runtime's commands with
// clEnqueueSVMMemcpy, clEnqueueSVMMemFill, clEnqueueSVMMap/Unmap and
// clEnqueueSVMMigrateMem. In pass-through mode they take the raw host
// pointers (PoCL accepts them all). In buffer mode there is no device copy
// between launches: Copy still uses clEnqueueSVMMemcpy (host pointers are
// allowed there on every device), Fill fills an SVM buffer on the device
// and copies it out, and Map, Unmap and MigrateMem are synchronisation
// points (a clEnqueueMarkerWithWaitList waited for like any command: if
// ctx ends while earlier commands still run, they return ctx.Err()). Each
// checks ctx first (an ended ctx enqueues nothing),
// then the memory it names, like a launch. A buffer-mode fill's copy-out
// is decided like a launch's copy-back; a copy, or a fill in pass-through
// mode, is one command on the device that cannot be recalled once
// enqueued.
//
// # Concurrency and lock order
//
// A Device is safe for concurrent use. OpenCL calls on a queue are
// thread-safe; clSetKernelArg on one kernel object is not, so each program
// keeps a pool of kernel objects and a launch owns one from setting its
// arguments until it has enqueued. Contexts and programs are shared by all
// Devices opened on one OpenCL device (a program is compiled once per
// process: PoCL compiles with LLVM, seconds per program, cached in
// ~/.cache/pocl); each Device has its own in-order queue.
//
//	sharedMu            (the shared state per OpenCL device)
//	shared.mu           (the program map)
//	program.mu          (held while a program builds; concurrent launches of that kernel wait)
//	  program.poolMu    (the kernel-object pool; a leaf)
//	Device.mu           (closed; a leaf, never held across an OpenCL call that blocks)
//
// No lock is held while waiting for an event.
//
// # Deviations of PoCL 3.1 (Debian 12) and how they are handled
//
//   - No CL_DEVICE_SVM_FINE_GRAIN_SYSTEM (it reports coarse- and
//     fine-grained buffer SVM and SVM atomics): its CPU device runs kernels
//     on host threads, so the probe finds host pointers work and the device
//     runs in pass-through mode.
//   - clSetKernelExecInfo(CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM) is
//     accepted although the capability is not reported; svmrt passes it.
//   - CL_DEVICE_OPENCL_C_VERSION says "OpenCL C 1.2 PoCL" while
//     CL_DEVICE_OPENCL_C_ALL_VERSIONS lists 3.0: programs are built with
//     -cl-std=CL3.0 (the library uses 2.0 atomics and
//     get_local_linear_id), chosen from the version list.
//   - memory_scope_all_svm_devices is missing (OpenCL C 3.0 makes it the
//     optional feature __opencl_c_atomic_scope_all_devices, which PoCL does
//     not list in CL_DEVICE_OPENCL_C_FEATURES): programs are built with
//     -Dmemory_scope_all_svm_devices=memory_scope_device. On a CPU device
//     device-scope atomics are the CPU's own atomic instructions on host
//     memory, so host/device synchronisation still holds (the conformance
//     tests svm/runs-without-wait and svm/host-device-atomics pass). Describe
//     says when the substitution is in effect.
//   - OpenCL C may contract a*b+c into a fused multiply-add; the library's
//     sources that multiply and add turn FP_CONTRACT off, so results are
//     bit-identical to the Go bodies (PoCL honours the pragma).
//   - Initialising PoCL (inside clGetDeviceIDs) makes its libLLVM install
//     crash handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGINT, SIGTERM
//     and more (SA_RESETHAND), replacing the Go runtime's. Go's own fault
//     handling then runs through a handler that first resets the signal to
//     SIG_DFL: a cpu-backend kernel faulting on two threads at once killed
//     the process (seen as a rare SIGSEGV death of `svmrt conform`). The
//     shim saves every signal disposition before each call that can
//     initialise the implementation or its compiler (clGetPlatformIDs,
//     clGetDeviceIDs, clCreateContext, clBuildProgram) and puts back
//     those the call replaced: a disposition whose handler is now a
//     function of another shared object than the program's binary
//     (libLLVM's), or whose flags or mask alone changed
//     (TestSignalHandlersKept). Changes the program itself makes meanwhile
//     from other goroutines — signal.Ignore, Notify, Reset: SIG_IGN,
//     SIG_DFL or the Go runtime's handler — are kept. Such
//     calls may overlap (two builds): under a C mutex, the first to start
//     saves and the last to end restores. PoCL loses LLVM's crash stack
//     traces. What cannot be fixed from outside PoCL: while such a call
//     runs (~35 ms for the first clGetDeviceIDs, which loads LLVM; each
//     build after), LLVM's handlers are in place. A single fault then is
//     still Go's (LLVM's handler re-raises it to the previous handler), but
//     two threads faulting within microseconds of each other in that window
//     can find the signal reset to SIG_DFL and kill the process. The
//     runtime loads OpenCL only when a program asks about or opens an
//     OpenCL device (never at import, never for cpu or simgpu).
//   - A failed build also prints the compiler's diagnostics on the
//     process's stderr (PoCL's clang does); the log is in the BuildError.
//
// Not covered (OpenCL has no such interfaces): device page faults, page
// migration into device memory, snapshots of device residency; the
// conformance tests that need them skip on opencl with that reason.
// svmrt needs 64-bit devices (pointers are 8-byte arguments) and a
// little-endian host and device.
package opencl
