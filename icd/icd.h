// icd.h: what the C dispatch layer (dispatch.c), the Go core (package icd)
// and the library's entry points (cmd/svmrt-icd) share.
#ifndef SVMRT_ICD_H
#define SVMRT_ICD_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#define CL_USE_DEPRECATED_OPENCL_2_1_APIS
#define CL_USE_DEPRECATED_OPENCL_2_2_APIS
#include <CL/cl_icd.h>

// Kinds of objects, as the Go registry files them. Handles of kinds the
// library cannot create (samplers: no images) are never valid.
enum {
	SVMRT_PLATFORM = 1,
	SVMRT_DEVICE,
	SVMRT_CONTEXT,
	SVMRT_QUEUE,
	SVMRT_MEM,
	SVMRT_PROGRAM,
	SVMRT_KERNEL,
	SVMRT_EVENT,
	SVMRT_SAMPLER,
};

// Every object handed out starts with the dispatch pointer (cl_khr_icd).
struct svmrt_object {
	const cl_icd_dispatch *dispatch;
};

// dispatch.c
void *svmrt_icd_alloc(void);
cl_int svmrt_icd_get_platform_ids(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms);
void *svmrt_icd_extension_address(const char *name);
void svmrt_icd_call_context_destructor(void *fn, void *context, void *user_data);
void svmrt_icd_call_context_notify(void *fn, const char *errinfo, void *user_data);
void svmrt_icd_call_program_notify(void *fn, void *program, void *user_data);
void svmrt_icd_call_event_callback(void *fn, void *event, cl_int status, void *user_data);
void svmrt_icd_call_mem_destructor(void *fn, void *mem, void *user_data);
void svmrt_icd_call_svm_free(void *fn, void *queue, cl_uint n, void *pointers, void *user_data);

#endif
