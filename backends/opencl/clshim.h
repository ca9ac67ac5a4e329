// clshim.h: the slice of the OpenCL 2.x API svmrt uses, loaded at run time
// with dlopen("libOpenCL.so.1"), so binaries build and run on machines
// without an ICD loader (the backend then reports itself unavailable).
//
// Types and constants are declared here from the OpenCL specification (the
// API reference's tables of enums); no OpenCL header is needed to build.
// Every entry point is resolved with dlsym; a wrapper whose entry point is
// missing (an OpenCL 1.2 loader has no clSVMAlloc, say) returns
// SVMRT_CL_MISSING instead of calling through a NULL pointer, and the Go side
// turns that into an error wrapping svm.ErrNotSupported naming the function.
//
// Addresses of host memory cross this interface as uintptr_t, never as Go
// pointers: the Go side passes the program's addresses as integers (cgo's
// pointer rules forbid handing C a Go pointer it keeps or that points to Go
// pointers; an integer carries no such obligation, and the Go side keeps the
// objects alive itself).
#ifndef SVMRT_CLSHIM_H
#define SVMRT_CLSHIM_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef uint64_t cl_bitfield;
typedef void *cl_platform_id;
typedef void *cl_device_id;
typedef void *cl_context;
typedef void *cl_command_queue;
typedef void *cl_program;
typedef void *cl_kernel;
typedef void *cl_event;

// Returned by a wrapper whose entry point the loaded library lacks (not an
// OpenCL error code: those are 0 or negative and above -1100).
#define SVMRT_CL_MISSING (-9999)

// Info queries (OpenCL 2.x/3.0 specification, appendix tables).
#define SVMRT_CL_PLATFORM_VERSION 0x0901
#define SVMRT_CL_PLATFORM_NAME 0x0902
#define SVMRT_CL_PLATFORM_VENDOR 0x0903
#define SVMRT_CL_DEVICE_TYPE 0x1000
#define SVMRT_CL_DEVICE_MAX_COMPUTE_UNITS 0x1002
#define SVMRT_CL_DEVICE_MAX_WORK_GROUP_SIZE 0x1004
#define SVMRT_CL_DEVICE_ADDRESS_BITS 0x100D
#define SVMRT_CL_DEVICE_GLOBAL_MEM_SIZE 0x101F
#define SVMRT_CL_DEVICE_LOCAL_MEM_SIZE 0x1023
#define SVMRT_CL_DEVICE_NAME 0x102B
#define SVMRT_CL_DEVICE_VENDOR 0x102C
#define SVMRT_CL_DRIVER_VERSION 0x102D
#define SVMRT_CL_DEVICE_VERSION 0x102F
#define SVMRT_CL_DEVICE_OPENCL_C_VERSION 0x103D
#define SVMRT_CL_DEVICE_SVM_CAPABILITIES 0x1053
#define SVMRT_CL_DEVICE_OPENCL_C_ALL_VERSIONS 0x1066
#define SVMRT_CL_DEVICE_OPENCL_C_FEATURES 0x106F
#define SVMRT_CL_DEVICE_TYPE_ALL 0xFFFFFFFFu

#define SVMRT_CL_CONTEXT_PLATFORM 0x1084
#define SVMRT_CL_PROGRAM_BUILD_LOG 0x1183
#define SVMRT_CL_KERNEL_NUM_ARGS 0x1191
#define SVMRT_CL_KERNEL_ARG_ADDRESS_QUALIFIER 0x1196
#define SVMRT_CL_KERNEL_ARG_TYPE_NAME 0x1198
#define SVMRT_CL_KERNEL_ARG_TYPE_QUALIFIER 0x1199
#define SVMRT_CL_KERNEL_ARG_NAME 0x119A
#define SVMRT_CL_KERNEL_WORK_GROUP_SIZE 0x11B0
#define SVMRT_CL_KERNEL_COMPILE_WORK_GROUP_SIZE 0x11B1
#define SVMRT_CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS 0x1003
#define SVMRT_CL_DEVICE_MAX_WORK_ITEM_SIZES 0x1005
#define SVMRT_CL_KERNEL_ARG_ADDRESS_GLOBAL 0x119B
#define SVMRT_CL_KERNEL_ARG_ADDRESS_LOCAL 0x119C
#define SVMRT_CL_KERNEL_ARG_ADDRESS_CONSTANT 0x119D
#define SVMRT_CL_KERNEL_ARG_ADDRESS_PRIVATE 0x119E
#define SVMRT_CL_KERNEL_EXEC_INFO_SVM_PTRS 0x11B6
#define SVMRT_CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM 0x11B7
#define SVMRT_CL_EVENT_COMMAND_EXECUTION_STATUS 0x11D3

// clSVMAlloc flags.
#define SVMRT_CL_MEM_READ_WRITE (1u << 0)
#define SVMRT_CL_MEM_SVM_FINE_GRAIN_BUFFER (1u << 10)
#define SVMRT_CL_MEM_SVM_ATOMICS (1u << 11)
// clEnqueueSVMMap flags; clEnqueueSVMMigrateMem flags.
#define SVMRT_CL_MAP_READ (1u << 0)
#define SVMRT_CL_MAP_WRITE (1u << 1)
#define SVMRT_CL_MIGRATE_MEM_OBJECT_HOST (1u << 0)

// clshim_load dlopens the ICD loader (lib, or libOpenCL.so.1 when NULL) and
// resolves the entry points. Returns 0, or -1 with a message in err. Only
// the discovery entry points are required; the others may be missing.
int clshim_load(const char *lib, char *err, size_t errlen);

// clshim_signals_restored counts the signal handlers the binding has put
// back after an OpenCL call replaced them (see clshim.c).
int clshim_signals_restored(void);

// clshim_guard_enter and clshim_guard_leave bracket a call that may replace
// signal handlers (see clshim.c); exported for the tests.
void clshim_guard_enter(void);
void clshim_guard_leave(void);

// clshim_has reports whether the named entry point was resolved (1) or not.
int clshim_has(const char *name);

// Discovery.
cl_int clshim_platforms(cl_uint max, cl_platform_id *out, cl_uint *n);
cl_int clshim_devices(cl_platform_id p, cl_uint max, cl_device_id *out, cl_uint *n);
cl_int clshim_platform_info(cl_platform_id p, cl_uint param, size_t size, void *value, size_t *ret);
cl_int clshim_device_info(cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret);

// Contexts and queues (in-order, no profiling).
cl_context clshim_create_context(cl_platform_id p, cl_device_id d, cl_int *err);
cl_int clshim_release_context(cl_context c);
cl_command_queue clshim_create_queue(cl_context c, cl_device_id d, cl_int *err);
cl_int clshim_release_queue(cl_command_queue q);
cl_int clshim_flush(cl_command_queue q);
cl_int clshim_finish(cl_command_queue q);

// Programs and kernels.
cl_program clshim_create_program(cl_context c, const char *src, cl_int *err);
cl_int clshim_build_program(cl_program p, cl_device_id d, const char *options);
cl_int clshim_build_log(cl_program p, cl_device_id d, size_t size, char *value, size_t *ret);
cl_int clshim_release_program(cl_program p);
cl_kernel clshim_create_kernel(cl_program p, const char *name, cl_int *err);
cl_int clshim_release_kernel(cl_kernel k);
cl_int clshim_kernel_num_args(cl_kernel k, cl_uint *n);
cl_int clshim_kernel_arg_address(cl_kernel k, cl_uint i, cl_uint *qual);
// clGetKernelArgInfo and clGetKernelWorkGroupInfo, any parameter.
cl_int clshim_kernel_arg_info(cl_kernel k, cl_uint i, cl_uint param, size_t size, void *value, size_t *ret);
cl_int clshim_kernel_wg_info(cl_kernel k, cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret);
// clshim_set_arg_scalar sets argument i to the low size bytes of value
// (size 1, 2, 4 or 8; little-endian, as every device svmrt supports).
cl_int clshim_set_arg_scalar(cl_kernel k, cl_uint i, size_t size, uint64_t value);
// clshim_set_arg_bytes sets argument i to the size bytes at p (a struct or
// vector passed by value).
cl_int clshim_set_arg_bytes(cl_kernel k, cl_uint i, size_t size, const void *p);
// clshim_set_arg_local sets argument i to size bytes of __local memory.
cl_int clshim_set_arg_local(cl_kernel k, cl_uint i, size_t size);
// clshim_set_arg_null sets a __global pointer argument to NULL (a NULL
// cl_mem, which every OpenCL version accepts).
cl_int clshim_set_arg_null(cl_kernel k, cl_uint i);
cl_int clshim_set_arg_svm(cl_kernel k, cl_uint i, uintptr_t ptr);
cl_int clshim_exec_info_fine_system(cl_kernel k, int on);
cl_int clshim_exec_info_svm_ptrs(cl_kernel k, const uintptr_t *ptrs, size_t n);
cl_int clshim_enqueue_ndrange(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local, cl_event *ev);

// Shared virtual memory.
uintptr_t clshim_svm_alloc(cl_context c, cl_bitfield flags, size_t size, cl_uint alignment);
void clshim_svm_free(cl_context c, uintptr_t p);
cl_int clshim_svm_memcpy(cl_command_queue q, int blocking, uintptr_t dst, uintptr_t src, size_t n, cl_event *ev);
cl_int clshim_svm_memfill(cl_command_queue q, uintptr_t dst, const void *pattern, size_t psize, size_t n, cl_event *ev);
cl_int clshim_svm_map(cl_command_queue q, int blocking, cl_bitfield flags, uintptr_t p, size_t n, cl_event *ev);
cl_int clshim_svm_unmap(cl_command_queue q, uintptr_t p, cl_event *ev);
cl_int clshim_svm_migrate(cl_command_queue q, uintptr_t p, size_t n, cl_bitfield flags, cl_event *ev);

// Events. clshim_marker enqueues a marker (clEnqueueMarkerWithWaitList, no
// wait list: on an in-order queue it completes after every earlier command).
cl_int clshim_marker(cl_command_queue q, cl_event *ev);
cl_int clshim_wait_event(cl_event e);
cl_int clshim_event_status(cl_event e, cl_int *status);
cl_int clshim_release_event(cl_event e);

#endif
