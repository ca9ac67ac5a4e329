// clshim.h: the slice of the OpenCL 2.0 API svmrt uses, loaded at run time
// with dlopen("libOpenCL.so.1"), so binaries build and run on machines
// without an ICD loader (the backend then reports itself unavailable).
// Types and constants are declared here from the OpenCL specification; no
// OpenCL header is needed to build.
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

// Info queries (OpenCL 2.0 specification, appendix tables).
#define SVMRT_CL_PLATFORM_VERSION 0x0901
#define SVMRT_CL_PLATFORM_NAME 0x0902
#define SVMRT_CL_PLATFORM_VENDOR 0x0903
#define SVMRT_CL_DEVICE_TYPE 0x1000
#define SVMRT_CL_DEVICE_MAX_COMPUTE_UNITS 0x1002
#define SVMRT_CL_DEVICE_GLOBAL_MEM_SIZE 0x101F
#define SVMRT_CL_DEVICE_NAME 0x102B
#define SVMRT_CL_DEVICE_VENDOR 0x102C
#define SVMRT_CL_DRIVER_VERSION 0x102D
#define SVMRT_CL_DEVICE_VERSION 0x102F
#define SVMRT_CL_DEVICE_OPENCL_C_VERSION 0x103D
#define SVMRT_CL_DEVICE_SVM_CAPABILITIES 0x1053
#define SVMRT_CL_DEVICE_TYPE_ALL 0xFFFFFFFFu

// clshim_load dlopens the ICD loader (lib, or libOpenCL.so.1 when NULL) and
// resolves the entry points. Returns 0, or -1 with a message in err.
int clshim_load(const char *lib, char *err, size_t errlen);

cl_int clshim_platforms(cl_uint max, cl_platform_id *out, cl_uint *n);
cl_int clshim_devices(cl_platform_id p, cl_uint max, cl_device_id *out, cl_uint *n);
cl_int clshim_platform_info(cl_platform_id p, cl_uint param, size_t size, void *value, size_t *ret);
cl_int clshim_device_info(cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret);

#endif
