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
// clGetPlatformIDs, clGetPlatformInfo, clGetDeviceIDs, clGetDeviceInfo,
// clRetainDevice and clReleaseDevice (a root device: no count),
// clCreateContext, clCreateContextFromType, clRetainContext,
// clReleaseContext, clGetContextInfo, clSetContextDestructorCallback,
// clCreateCommandQueue, clCreateCommandQueueWithProperties,
// clRetainCommandQueue, clReleaseCommandQueue, clGetCommandQueueInfo,
// clSetCommandQueueProperty, clFlush and clFinish (complete at once: no
// command can be enqueued yet), clUnloadCompiler and
// clUnloadPlatformCompiler (hints). A context lives until it is released
// and its queues are gone; its destructor callbacks then run, last
// registered first. Context properties: CL_CONTEXT_PLATFORM and
// CL_CONTEXT_INTEROP_USER_SYNC (others, including the GL and EGL ones, are
// CL_INVALID_PROPERTY).
//
// Calls that are correct as they are, because the device lacks the feature:
// image, sampler and pipe creation (CL_INVALID_OPERATION),
// clGetSupportedImageFormats (no formats), clCreateProgramWithIL
// (CL_INVALID_OPERATION: no IL), clCreateProgramWithBuiltInKernels
// (CL_INVALID_VALUE), clCreateSubDevices (CL_INVALID_VALUE),
// clEnqueueNativeKernel, clGetHostTimer, clGetDeviceAndHostTimer,
// clSetDefaultDeviceCommandQueue (CL_INVALID_OPERATION), the GL sharing
// calls (CL_INVALID_CONTEXT: no context is created from a GL context;
// clGetGLContextInfoKHR CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR), the EGL
// and cl_ext_device_fission calls (CL_INVALID_OPERATION). The Direct3D and
// DX9 entries are Windows-only and stay NULL in the table.
//
// # Not implemented yet
//
// These check their handles first — the queue, the context, and objects of
// kinds that cannot exist yet (memory objects, programs, kernels, events),
// which are therefore always CL_INVALID_MEM_OBJECT, CL_INVALID_PROGRAM,
// CL_INVALID_KERNEL or CL_INVALID_EVENT — and their wait lists
// (CL_INVALID_EVENT_WAIT_LIST), then return CL_INVALID_OPERATION:
//
//   - buffers: clCreateBuffer, clCreateBufferWithProperties,
//     clCreateSubBuffer, clGetMemObjectInfo, clSetMemObjectDestructorCallback
//     and every clEnqueue*Buffer*, clEnqueueMapBuffer,
//     clEnqueueUnmapMemObject, clEnqueueMigrateMemObjects;
//   - SVM: clSVMAlloc returns NULL (its only failure) and clSVMFree has
//     nothing to free; clEnqueueSVMFree, clEnqueueSVMMemcpy,
//     clEnqueueSVMMemFill, clEnqueueSVMMap, clEnqueueSVMUnmap,
//     clEnqueueSVMMigrateMem;
//   - programs: clCreateProgramWithSource, clCreateProgramWithBinary,
//     clBuildProgram, clCompileProgram, clLinkProgram, clGetProgramInfo,
//     clGetProgramBuildInfo, clSetProgramReleaseCallback,
//     clSetProgramSpecializationConstant;
//   - kernels: clCreateKernel, clCreateKernelsInProgram, clCloneKernel,
//     clSetKernelArg, clSetKernelArgSVMPointer, clSetKernelExecInfo,
//     clGetKernelInfo, clGetKernelArgInfo, clGetKernelWorkGroupInfo,
//     clGetKernelSubGroupInfo; clEnqueueNDRangeKernel, clEnqueueTask;
//   - events: clCreateUserEvent, clSetUserEventStatus, clWaitForEvents,
//     clGetEventInfo, clGetEventProfilingInfo, clSetEventCallback,
//     clEnqueueMarker, clEnqueueBarrier, clEnqueueWaitForEvents,
//     clEnqueueMarkerWithWaitList, clEnqueueBarrierWithWaitList.
//
// Later increments add programs (the OpenCL C the simulated GPU compiles),
// kernels and their launches on the runtime's in-order queue, SVM
// allocation and commands (any host pointer is already valid on the device),
// events with profiling from the simulated clock, and buffers.
package icd
