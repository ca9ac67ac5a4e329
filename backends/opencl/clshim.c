// clshim.c: run-time binding of the OpenCL entry points svmrt uses.
#include "clshim.h"

#include <dlfcn.h>
#include <stdio.h>

typedef cl_int (*fn_get_platform_ids)(cl_uint, cl_platform_id *, cl_uint *);
typedef cl_int (*fn_get_device_ids)(cl_platform_id, cl_bitfield, cl_uint, cl_device_id *, cl_uint *);
typedef cl_int (*fn_get_platform_info)(cl_platform_id, cl_uint, size_t, void *, size_t *);
typedef cl_int (*fn_get_device_info)(cl_device_id, cl_uint, size_t, void *, size_t *);

static fn_get_platform_ids p_get_platform_ids;
static fn_get_device_ids p_get_device_ids;
static fn_get_platform_info p_get_platform_info;
static fn_get_device_info p_get_device_info;

int clshim_load(const char *lib, char *err, size_t errlen) {
	void *h = dlopen(lib ? lib : "libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	p_get_platform_ids = (fn_get_platform_ids)dlsym(h, "clGetPlatformIDs");
	p_get_device_ids = (fn_get_device_ids)dlsym(h, "clGetDeviceIDs");
	p_get_platform_info = (fn_get_platform_info)dlsym(h, "clGetPlatformInfo");
	p_get_device_info = (fn_get_device_info)dlsym(h, "clGetDeviceInfo");
	if (!p_get_platform_ids || !p_get_device_ids || !p_get_platform_info || !p_get_device_info) {
		snprintf(err, errlen, "%s lacks the OpenCL platform/device query entry points", lib ? lib : "libOpenCL.so.1");
		return -1;
	}
	return 0;
}

cl_int clshim_platforms(cl_uint max, cl_platform_id *out, cl_uint *n) { return p_get_platform_ids(max, out, n); }
cl_int clshim_devices(cl_platform_id p, cl_uint max, cl_device_id *out, cl_uint *n) {
	return p_get_device_ids(p, SVMRT_CL_DEVICE_TYPE_ALL, max, out, n);
}
cl_int clshim_platform_info(cl_platform_id p, cl_uint param, size_t size, void *value, size_t *ret) {
	return p_get_platform_info(p, param, size, value, ret);
}
cl_int clshim_device_info(cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret) {
	return p_get_device_info(d, param, size, value, ret);
}
