// entry.c: the library's two exported symbols, the ones the ICD loader
// looks up by name (cl_khr_icd). Everything else is reached through the
// dispatch table of the objects clIcdGetPlatformIDsKHR returns.
#include "../../icd/icd.h"

CL_API_ENTRY cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms,
							cl_uint *num_platforms) {
	return svmrt_icd_get_platform_ids(num_entries, platforms, num_platforms);
}

CL_API_ENTRY void *CL_API_CALL clGetExtensionFunctionAddress(const char *name) {
	return svmrt_icd_extension_address(name);
}
