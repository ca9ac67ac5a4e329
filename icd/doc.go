// Package icd is svmrt's OpenCL platform: the simulated GPU (backends/simgpu)
// as an OpenCL 3.0 device with fine-grained system SVM, for unmodified
// OpenCL programs, through an ICD loader.
//
// It is built as a shared library (main package cmd/svmrt-icd, go build
// -buildmode=c-shared; make icd writes build/libsvmrt-icd.so) that an
// OpenCL ICD loader loads as a vendor. Debian's ocl-icd 2.3.1 selects
// vendors with OCL_ICD_VENDORS — a directory of .icd files, one .icd file,
// or the library's path — and ignores OCL_ICD_FILENAMES:
//
//	OCL_ICD_VENDORS=$PWD/build/libsvmrt-icd.so clinfo
//
// svmrt icd prints the line to use and, with -install, writes
// /etc/OpenCL/vendors/svmrt.icd.
//
// # Layers
//
// A thin C dispatch layer (dispatch.c) holds every OpenCL entry point. Each
// is static, reachable only through the cl_icd_dispatch table (the system's
// CL/cl_icd.h, Debian's opencl-c-headers) whose address is the first word
// of every object the library hands out, as cl_khr_icd requires. The
// library exports only clIcdGetPlatformIDsKHR and
// clGetExtensionFunctionAddress (a linker version script,
// cmd/svmrt-icd/exports.map); ocl-icd also asks the latter for
// clGetPlatformInfo, to read CL_PLATFORM_EXTENSIONS (cl_khr_icd) and
// CL_PLATFORM_ICD_SUFFIX_KHR before it trusts a platform, and gets it.
// The platform has no extension functions of its own (suffix SVMRT).
//
// The Go core (this package) keeps the objects in a registry keyed by
// handle and answers the calls. The C layer never reads a handle: it asks
// the registry, so a stale, forged or wrong-kind handle gets the spec's
// code (CL_INVALID_PLATFORM, CL_INVALID_DEVICE, CL_INVALID_CONTEXT,
// CL_INVALID_COMMAND_QUEUE, CL_INVALID_MEM_OBJECT, ...) and never crashes
// the library. A handle is a small C allocation holding the dispatch
// pointer; it is never freed, so a released handle still reaches the
// library through the loader (which reads the dispatch pointer) and is
// refused, and no later object reuses its address. A call from C into Go
// costs 60–80 ns: fine for API calls, and no memory access by a kernel will
// ever cross into Go.
//
// One Go runtime per process: the library holds one, so it must not be
// loaded into a Go program (Go programs use svmrt's Go API, package
// runtime) nor beside another Go c-shared library. When it finds another Go
// runtime in the process (another module's cgo entry point in the global
// symbol scope — as in a Go program whose OpenCL backend enumerates the
// installed vendors), clIcdGetPlatformIDsKHR offers no platform and says
// why on stderr.
//
// # The platform and its device
//
// One platform, "svmrt" (vendor svmrt, OpenCL 3.0, FULL_PROFILE, extension
// cl_khr_icd), with one device: the simulated GPU, opened with
// runtime.Open("simgpu") when a program first asks for devices. Its memory
// is $SVMRT_VRAM (bytes, or a whole number with KiB, MiB or GiB; default
// simgpu.DefaultVRAM, 256 MiB); a bad value leaves the platform with no
// device and says so on stderr. Every query is answered from what svmrt
// implements:
//
//   - type CL_DEVICE_TYPE_GPU, OpenCL 3.0; CL_DEVICE_SVM_CAPABILITIES coarse-
//     and fine-grained buffer, fine-grained system and atomics: every pointer
//     of the process is valid on the device, pages migrate on device faults
//     (svm, backends/simgpu).
//   - global memory, the largest allocation and the largest __constant
//     buffer: the simulated VRAM (runtime.Info().Caps.MemoryBytes); a launch
//     that touches more still runs, by eviction.
//   - compute units: CostModel.SMCount; work-group size at most
//     kernels.MaxWorkGroupSize (1024, also per dimension, which
//     CostModel.ThreadsPerSM allows), 3 dimensions; the preferred multiple
//     is the warp size (simgpu.Device.WarpSize); global sizes must be
//     multiples of local sizes (no non-uniform work-groups).
//   - local memory: CL_LOCAL, simgpu.DefaultLocalMemory (64 KiB) per group.
//   - no data cache is simulated (CL_NONE), no core clock either (the cost
//     model charges per event, not per cycle: max clock frequency 0); the
//     profiling timer counts the simulated clock's nanoseconds.
//   - OpenCL C: CL_DEVICE_OPENCL_C_ALL_VERSIONS lists 1.2, 2.0 and 3.0, what
//     the compiler accepts for -cl-std (internal/clc); CL_DEVICE_OPENCL_C_VERSION
//     is "OpenCL C 1.2", the highest version supported in full: OpenCL C 2.0's
//     pipes and device-side enqueue are not, and fail to build with a named
//     error. The 3.0 features (CL_DEVICE_OPENCL_C_FEATURES) and the
//     extensions are the compiler's feature list (clc.FeatureMacros) plus the
//     device and all-devices atomic scopes of the device library: generic
//     address space, program-scope globals (64 KiB guaranteed), acq_rel and
//     seq_cst orders, fp64, int64; cl_khr_fp64, the int32 and int64 atomics,
//     cl_khr_byte_addressable_store. No fp16, images, pipes, sub-groups,
//     work-group collectives, printf, SPIR-V or built-in kernels.
//   - fp32 and fp64: denormals, inf and NaN, round to nearest, fma (as the
//     host executes them).
//   - atomics and fences: relaxed, acq_rel and seq_cst at every scope up
//     to all devices.
//   - compiler and linker available: whether the LLVM 15 toolchain is
//     installed (clc.FindToolchain).
//   - host queues: in order, profiling allowed; no on-device queues, no
//     sub-devices, no host timer; CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED
//     is v0000-01-01-00 (no conformance submission).
//
// # What works now
//
// Platform, device, context and command-queue calls: clGetPlatformIDs,
// clGetPlatformInfo, clGetDeviceIDs, clGetDeviceInfo, clRetainDevice and
// clReleaseDevice (a root device: no count), clCreateContext,
// clCreateContextFromType, clRetainContext, clReleaseContext,
// clGetContextInfo, clSetContextDestructorCallback, clCreateCommandQueue,
// clCreateCommandQueueWithProperties, clRetainCommandQueue,
// clReleaseCommandQueue, clGetCommandQueueInfo, clSetCommandQueueProperty,
// clUnloadCompiler and clUnloadPlatformCompiler (hints). A context lives
// until it is released and the objects that hold it (queues, programs,
// events the application holds) are gone; its destructor callbacks then
// run, last registered first. Context properties: CL_CONTEXT_PLATFORM and
// CL_CONTEXT_INTEROP_USER_SYNC (others, including the GL and EGL ones, are
// CL_INVALID_PROPERTY).
//
// Programs (program.go): clCreateProgramWithSource (strings with lengths, a
// NULL lengths array or a 0 length meaning NUL-terminated), clBuildProgram
// (the options string goes to runtime.Build; device lists checked; the
// callback is called before it returns: builds are synchronous),
// clCreateProgramWithBinary and clGetProgramInfo's BINARIES (svmrt's own
// formats, binary.go: the options and the source of a program built from
// source, rebuilt from runtime.Build's disk cache; the LLVM bitcode of a
// compiled object, a library or a linked executable; a binary from
// elsewhere is CL_INVALID_BINARY), clGetProgramInfo,
// clGetProgramBuildInfo (BUILD_LOG is clang's log with file:line:col
// diagnostics; a failed build is CL_BUILD_PROGRAM_FAILURE — a call of a
// function the program does not define too, its log naming the symbol —,
// bad options CL_INVALID_BUILD_OPTIONS, a missing clang-15
// CL_COMPILER_NOT_AVAILABLE), clRetainProgram, clReleaseProgram (a program
// goes when its kernels are gone too; it cannot be rebuilt while it has
// kernels). Separate compilation (compile.go, link.go): clCompileProgram
// (embedded headers by their include names) compiles a unit to LLVM
// bitcode, a compiled object that may call functions other units define;
// clLinkProgram links compiled objects and libraries with llvm-link into a
// library (-create-library) or an executable, which clang optimizes whole
// before the device build. Its errors: CL_LINK_PROGRAM_FAILURE for a
// symbol no input defines or two define (the log names it),
// CL_INVALID_OPERATION for an input that is not a compiled object or
// library, CL_INVALID_LINKER_OPTIONS.
//
// Kernels (kernel.go): clCreateKernel, clCreateKernelsInProgram,
// clCloneKernel, clRetainKernel, clReleaseKernel, clGetKernelInfo
// (ATTRIBUTES as the source wrote reqd_work_group_size,
// work_group_size_hint and vec_type_hint), clGetKernelArgInfo (from
// clang's argument metadata, always kept), clGetKernelWorkGroupInfo
// (LOCAL_MEM_SIZE is the __local arguments set plus the block of static
// __local variables every group gets, which holds all of the program's
// kernels' variables; PRIVATE_MEM_SIZE is 0, not measured),
// clSetKernelArg (scalars, vectors and structs by value with their exact
// size, __local sizes with a NULL value, a buffer or sub-buffer — the
// kernel gets its storage's address — or NULL), clSetKernelArgSVMPointer
// (any address of the process), clSetKernelExecInfo (SVM_PTRS and
// SVM_FINE_GRAIN_SYSTEM: accepted, nothing to do).
//
// Launches (launch.go, enqueue.go): clEnqueueNDRangeKernel (1 to 3
// dimensions, global work offsets (kernels.NDRange.Offset, which the
// compiled kernels' runtime, internal/devrt, applies; an offset whose range
// overflows is CL_INVALID_GLOBAL_OFFSET); a NULL local size is the kernel's reqd_work_group_size, else
// its work_group_size_hint when that divides the range, else chosen by the
// ICD; uniform work-groups only), clEnqueueTask, clFlush
// (commands are issued as they are enqueued), clFinish. Each queue runs its
// commands in order on a worker goroutine; a command that fails on the
// device — a kernel that touches an unmapped address — ends with status
// CL_OUT_OF_RESOURCES, the context's notification callback gets the
// runtime's message (the faulting address and why), and the process goes
// on. Known problem (the runtime's, not the ICD's): a launch on a page that
// the host writes while the kernel runs — malloc'd memory that shares a
// page with the bookkeeping of allocations the host makes meanwhile — can
// fail that way ("fault not resolved after 1000 rounds (the page keeps
// moving away)") where fine-grained system SVM says it must work; data on
// pages of its own (aligned_alloc(4096, ...), clSVMAlloc) is not affected.
//
// Events (event.go): every command's event (clGetEventInfo,
// clWaitForEvents, clRetainEvent, clReleaseEvent, clSetEventCallback),
// user events (clCreateUserEvent, clSetUserEventStatus: a negative status
// fails the commands waiting for it with
// CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST), clEnqueueMarker,
// clEnqueueBarrier, clEnqueueWaitForEvents, clEnqueueMarkerWithWaitList,
// clEnqueueBarrierWithWaitList. clGetEventProfilingInfo counts the
// simulated GPU's clock (runtime SimStats SimulatedTime, ns) on queues
// with CL_QUEUE_PROFILING_ENABLE: QUEUED is read when the command is
// enqueued, SUBMIT and START when it starts, END (and COMPLETE) when it
// ends; a command runs with the device to itself, so END-START is its own
// simulated time.
//
// SVM (svm.go): clSVMAlloc (a private anonymous mapping: page-aligned,
// flags and alignment checked, NULL on bad arguments), clSVMFree,
// clEnqueueSVMFree (the callback, or clSVMFree), clEnqueueSVMMemcpy
// (CL_MEM_COPY_OVERLAP), clEnqueueSVMMemFill (patterns of 1 to 128 bytes,
// powers of two), clEnqueueSVMMap (brings device-resident pages home),
// clEnqueueSVMUnmap (orders with the queue: nothing to write back),
// clEnqueueSVMMigrateMem (runtime's MigrateMem, to the device or, with
// CL_MIGRATE_MEM_OBJECT_HOST, home; a size of 0 is the whole clSVMAlloc
// allocation). Every pointer of the process may be used, malloc's included.
//
// Buffers (mem.go, buffer.go, mapmem.go) are host memory seen through SVM:
// a buffer's storage is the application's memory (CL_MEM_USE_HOST_PTR) or
// a private anonymous mapping of the library's, never a device copy; a
// kernel gets its address, and the simulated GPU migrates its pages on
// faults like any other memory's. clCreateBuffer and
// clCreateBufferWithProperties (flags checked as the spec says: one access
// and one host access flag at most, USE_HOST_PTR alone among the host
// pointer flags — else CL_INVALID_VALUE; a size of 0 or above the VRAM, or
// a USE_HOST_PTR buffer larger than the clSVMAlloc allocation it lies in,
// CL_INVALID_BUFFER_SIZE; a host pointer without USE or COPY_HOST_PTR, or
// none with them, CL_INVALID_HOST_PTR; no property names),
// clCreateSubBuffer (CL_BUFFER_CREATE_TYPE_REGION; flags inherited or
// checked against the buffer's; an origin not a multiple of
// CL_DEVICE_MEM_BASE_ADDR_ALIGN, 128 bytes, is
// CL_MISALIGNED_SUB_BUFFER_OFFSET; no sub-buffers of sub-buffers),
// clGetMemObjectInfo (every name; CL_MEM_USES_SVM_POINTER is true for a
// USE_HOST_PTR buffer in a clSVMAlloc allocation), clRetainMemObject,
// clReleaseMemObject, clSetMemObjectDestructorCallback. A buffer lives
// while its sub-buffers and the commands that name it (launches included)
// do; then its destructor callbacks run, last registered first, before its
// mapping goes and before the command that held it last is complete. The
// commands: clEnqueueReadBuffer, clEnqueueWriteBuffer, clEnqueueCopyBuffer
// (CL_MEM_COPY_OVERLAP within a buffer or between sub-buffers of one),
// clEnqueueFillBuffer, clEnqueueReadBufferRect, clEnqueueWriteBufferRect,
// clEnqueueCopyBufferRect, clEnqueueMapBuffer (the pointer is the storage
// itself — within host_ptr for USE_HOST_PTR — and its pages come home),
// clEnqueueUnmapMemObject (a pointer no map returned is CL_INVALID_VALUE),
// clEnqueueMigrateMemObjects; blocking or not, with wait lists and events;
// a region out of range, a NULL pointer or a size of 0 is
// CL_INVALID_VALUE, host access the CL_MEM_HOST_* flags forbid
// CL_INVALID_OPERATION. They run on the device's copy engine (runtime
// Memcpy, Memfill, Map, MigrateMem), except where the runtime must not
// write on a device's behalf — the host program's stack, where a blocking
// read's array often is — or a fill's storage is not aligned to its
// pattern: those are done by the host once the pages are home.
//
// Calls that are correct as they are, because the device lacks the feature:
// image, sampler and pipe creation and every image command
// (CL_INVALID_OPERATION), clGetImageInfo and clGetPipeInfo
// (CL_INVALID_MEM_OBJECT: every memory object is a buffer),
// clGetSupportedImageFormats (no formats), clCreateProgramWithIL
// (CL_INVALID_OPERATION: no IL), clSetProgramSpecializationConstant
// (CL_INVALID_OPERATION: no IL either), clSetProgramReleaseCallback
// (CL_INVALID_OPERATION: no program-scope destructors),
// clCreateProgramWithBuiltInKernels (CL_INVALID_VALUE), clCreateSubDevices
// (CL_INVALID_VALUE), clGetKernelSubGroupInfo (CL_INVALID_OPERATION: no
// sub-groups), clEnqueueNativeKernel, clGetHostTimer,
// clGetDeviceAndHostTimer, clSetDefaultDeviceCommandQueue
// (CL_INVALID_OPERATION), the GL sharing calls (CL_INVALID_CONTEXT: no
// context is created from a GL context; clGetGLContextInfoKHR
// CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR), the EGL and
// cl_ext_device_fission calls (CL_INVALID_OPERATION). The Direct3D and DX9
// entries are Windows-only and stay NULL in the table.
//
// # Statistics at exit
//
// SVMRT_SUMMARY=1 (or "stderr") prints the simulated GPU's summary on
// stderr as the host program exits — launches, device faults, fault
// batches, pages each way, CPU faults, evictions, TLB hits and misses,
// simulated time — and any other value names a file to write it to. It
// runs from the library's destructor, so only a program that opened the
// device (asked for devices) prints one; it takes no lock (a thread the
// program did not join may hold one) and waits at most 2 s for a command
// still running.
//
// # Not implemented yet
//
// A kernel cannot write a CL_MEM_USE_HOST_PTR
// buffer on the host program's main stack: the runtime refuses device
// writes there (the launch fails with CL_OUT_OF_RESOURCES); the buffer
// commands do work on it.
package icd
