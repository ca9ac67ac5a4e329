// dispatch.c: svmrt's OpenCL entry points, as the ICD loader reaches them.
//
// Every entry point is static: the only way in is the dispatch table, whose
// address is the first word of every object this library hands out
// (cl_khr_icd). A handle is never dereferenced here: the Go core looks each
// one up in its registry (svmrt_go_valid and the svmrt_go_* calls), so a
// stale, foreign or wrong-kind handle gets the spec's error code.
//
// The calls the library implements go to Go (package icd: api.go,
// program.go, kernel.go, launch.go, enqueue.go, event.go, svm.go, mem.go,
// buffer.go, mapmem.go). The
// others check what they can check — their handles, in argument order, and
// the arguments whose misuse has a code of its own — and then return the
// code the package doc lists for them; none returns success.

#define _GNU_SOURCE
#include "icd.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CL/cl_gl.h>
#include <CL/cl_egl.h>
#include <CL/cl_ext.h>
#include "_cgo_export.h"

// The summary SVMRT_SUMMARY asks for, as the process exits (summary.go).
__attribute__((destructor)) static void svmrt_icd_exit(void) { svmrt_go_exit_summary(); }

#define VALID(kind, h) svmrt_go_valid((kind), (void *)(h))
#define NEED(kind, h, code)                                                                                            \
	do {                                                                                                           \
		if (!VALID(kind, h))                                                                                   \
			return (code);                                                                                 \
	} while (0)
#define FAIL_E(code)                                                                                                   \
	do {                                                                                                           \
		if (errcode_ret)                                                                                       \
			*errcode_ret = (code);                                                                         \
		return NULL;                                                                                           \
	} while (0)
#define NEED_E(kind, h, code)                                                                                          \
	do {                                                                                                           \
		if (!VALID(kind, h))                                                                                   \
			FAIL_E(code);                                                                                  \
	} while (0)
#define CHECK(expr)                                                                                                    \
	do {                                                                                                           \
		cl_int _c = (expr);                                                                                    \
		if (_c != CL_SUCCESS)                                                                                  \
			return _c;                                                                                     \
	} while (0)

static const cl_icd_dispatch dispatch;

void *svmrt_icd_alloc(void) {
	struct svmrt_object *o = calloc(1, sizeof *o);
	if (o)
		o->dispatch = &dispatch;
	return o;
}

void svmrt_icd_call_context_destructor(void *fn, void *context, void *user_data) {
	((void(CL_CALLBACK *)(cl_context, void *))fn)((cl_context)context, user_data);
}

void svmrt_icd_call_context_notify(void *fn, const char *errinfo, void *user_data) {
	((void(CL_CALLBACK *)(const char *, const void *, size_t, void *))fn)(errinfo, NULL, 0, user_data);
}

void svmrt_icd_call_program_notify(void *fn, void *program, void *user_data) {
	((void(CL_CALLBACK *)(cl_program, void *))fn)((cl_program)program, user_data);
}

void svmrt_icd_call_event_callback(void *fn, void *event, cl_int status, void *user_data) {
	((void(CL_CALLBACK *)(cl_event, cl_int, void *))fn)((cl_event)event, status, user_data);
}

void svmrt_icd_call_svm_free(void *fn, void *queue, cl_uint n, void *pointers, void *user_data) {
	((void(CL_CALLBACK *)(cl_command_queue, cl_uint, void *[], void *))fn)((cl_command_queue)queue, n,
										(void **)pointers, user_data);
}

// An event wait list: its count and pointer agree, and every event is one.
static cl_int wait_list(cl_uint n, const cl_event *list) {
	if ((n == 0) != (list == NULL))
		return CL_INVALID_EVENT_WAIT_LIST;
	for (cl_uint i = 0; i < n; i++)
		if (!VALID(SVMRT_EVENT, list[i]))
			return CL_INVALID_EVENT_WAIT_LIST;
	return CL_SUCCESS;
}

// A device list that may be NULL (all the context's devices).
static cl_int check_devices(cl_uint n, const cl_device_id *list) {
	if ((n == 0) != (list == NULL))
		return CL_INVALID_VALUE;
	for (cl_uint i = 0; i < n; i++)
		if (!VALID(SVMRT_DEVICE, list[i]))
			return CL_INVALID_DEVICE;
	return CL_SUCCESS;
}

// ---- Platforms -------------------------------------------------------------

// foreign_go reports whether the process runs Go code besides this library's
// (a Go program, or another Go c-shared library): its cgo entry symbol is
// in the global scope and is not ours. Two Go runtimes must not share a
// process, so the library then offers no platform (Go programs use svmrt's
// Go API). It is decided once.
static int foreign_go(void) {
	static int state; // 0 unknown, 1 no, 2 yes
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (s == 0) {
		s = 1;
		void *sym = dlsym(RTLD_DEFAULT, "_cgo_topofstack");
		Dl_info theirs, ours;
		if (sym && dladdr(sym, &theirs) && dladdr((void *)svmrt_icd_alloc, &ours) &&
		    theirs.dli_fbase != ours.dli_fbase) {
			s = 2;
			fprintf(stderr, "svmrt ICD: this process already runs Go code (%s); the ICD holds a Go runtime of its "
					"own, which must not share a process with another: it offers no platform here "
					"(Go programs use svmrt's Go API)\n",
				theirs.dli_fname ? theirs.dli_fname : "?");
		}
		__atomic_store_n(&state, s, __ATOMIC_RELEASE);
	}
	return s == 2;
}

cl_int svmrt_icd_get_platform_ids(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms) {
	if (foreign_go()) {
		if ((num_entries == 0 && platforms != NULL) || (platforms == NULL && num_platforms == NULL))
			return CL_INVALID_VALUE;
		if (num_platforms)
			*num_platforms = 0;
		return CL_PLATFORM_NOT_FOUND_KHR;
	}
	return svmrt_go_platform_ids(num_entries, (void **)platforms, num_platforms);
}

static cl_int CL_API_CALL GetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms) {
	return svmrt_icd_get_platform_ids(num_entries, platforms, num_platforms);
}

static cl_int CL_API_CALL GetPlatformInfo(cl_platform_id platform, cl_platform_info param_name, size_t param_value_size,
					  void *param_value, size_t *param_value_size_ret) {
	return svmrt_go_platform_info(platform, param_name, param_value_size, param_value, param_value_size_ret);
}

static cl_int CL_API_CALL UnloadPlatformCompiler(cl_platform_id platform) {
	// A hint: the compiler runs as separate processes and holds nothing.
	NEED(SVMRT_PLATFORM, platform, CL_INVALID_PLATFORM);
	return CL_SUCCESS;
}

static cl_int CL_API_CALL UnloadCompiler(void) { return CL_SUCCESS; /* a hint, as above */ }

void *svmrt_icd_extension_address(const char *name) {
	// Functions reached by name: cl_khr_icd's own, and clGetPlatformInfo,
	// which ocl-icd looks up so before it trusts a platform's dispatch table
	// (to read CL_PLATFORM_EXTENSIONS and CL_PLATFORM_ICD_SUFFIX_KHR). The
	// platform has no extension functions of its own.
	if (name == NULL)
		return NULL;
	if (strcmp(name, "clIcdGetPlatformIDsKHR") == 0)
		return (void *)svmrt_icd_get_platform_ids;
	if (strcmp(name, "clGetPlatformInfo") == 0)
		return (void *)GetPlatformInfo;
	return NULL;
}

static void *CL_API_CALL GetExtensionFunctionAddress(const char *name) { return svmrt_icd_extension_address(name); }

static void *CL_API_CALL GetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *name) {
	if (!VALID(SVMRT_PLATFORM, platform))
		return NULL;
	return svmrt_icd_extension_address(name);
}

static cl_int CL_API_CALL GetHostTimer(cl_device_id device, cl_ulong *host_timestamp) {
	NEED(SVMRT_DEVICE, device, CL_INVALID_DEVICE);
	// CL_PLATFORM_HOST_TIMER_RESOLUTION is 0: no timer, whatever the
	// pointers (the CTS's order: the missing feature comes first).
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL GetDeviceAndHostTimer(cl_device_id device, cl_ulong *device_timestamp,
						cl_ulong *host_timestamp) {
	NEED(SVMRT_DEVICE, device, CL_INVALID_DEVICE);
	return CL_INVALID_OPERATION; // as clGetHostTimer
}

// ---- Devices ---------------------------------------------------------------

static cl_int CL_API_CALL GetDeviceIDs(cl_platform_id platform, cl_device_type device_type, cl_uint num_entries,
				       cl_device_id *devices, cl_uint *num_devices) {
	return svmrt_go_device_ids(platform, device_type, num_entries, (void **)devices, num_devices);
}

static cl_int CL_API_CALL GetDeviceInfo(cl_device_id device, cl_device_info param_name, size_t param_value_size,
					void *param_value, size_t *param_value_size_ret) {
	return svmrt_go_device_info(device, param_name, param_value_size, param_value, param_value_size_ret);
}

static cl_int CL_API_CALL RetainDevice(cl_device_id device) { return svmrt_go_retain(SVMRT_DEVICE, device); }
static cl_int CL_API_CALL ReleaseDevice(cl_device_id device) { return svmrt_go_release(SVMRT_DEVICE, device); }

static cl_int CL_API_CALL CreateSubDevices(cl_device_id in_device, const cl_device_partition_property *properties,
					   cl_uint num_devices, cl_device_id *out_devices, cl_uint *num_devices_ret) {
	NEED(SVMRT_DEVICE, in_device, CL_INVALID_DEVICE);
	// CL_DEVICE_PARTITION_PROPERTIES is 0: no partition scheme is supported.
	return CL_INVALID_VALUE;
}

static cl_int CL_API_CALL CreateSubDevicesEXT(cl_device_id in_device,
					      const cl_device_partition_property_ext *properties,
					      cl_uint num_entries, cl_device_id *out_devices, cl_uint *num_devices) {
	NEED(SVMRT_DEVICE, in_device, CL_INVALID_DEVICE);
	return CL_INVALID_OPERATION; // cl_ext_device_fission is not supported
}

// ---- Contexts --------------------------------------------------------------

typedef void(CL_CALLBACK *context_notify)(const char *, const void *, size_t, void *);

static cl_context CL_API_CALL CreateContext(const cl_context_properties *properties, cl_uint num_devices,
					    const cl_device_id *devices, context_notify pfn_notify, void *user_data,
					    cl_int *errcode_ret) {
	return svmrt_go_create_context((cl_context_properties *)properties, num_devices, (void **)devices, 0, 0,
				       (void *)pfn_notify, user_data, errcode_ret);
}

static cl_context CL_API_CALL CreateContextFromType(const cl_context_properties *properties,
						    cl_device_type device_type, context_notify pfn_notify,
						    void *user_data, cl_int *errcode_ret) {
	return svmrt_go_create_context((cl_context_properties *)properties, 0, NULL, 1, device_type,
				       (void *)pfn_notify, user_data, errcode_ret);
}

static cl_int CL_API_CALL RetainContext(cl_context context) { return svmrt_go_retain(SVMRT_CONTEXT, context); }
static cl_int CL_API_CALL ReleaseContext(cl_context context) { return svmrt_go_release(SVMRT_CONTEXT, context); }

static cl_int CL_API_CALL GetContextInfo(cl_context context, cl_context_info param_name, size_t param_value_size,
					 void *param_value, size_t *param_value_size_ret) {
	return svmrt_go_context_info(context, param_name, param_value_size, param_value, param_value_size_ret);
}

static cl_int CL_API_CALL SetContextDestructorCallback(cl_context context,
						       void(CL_CALLBACK *pfn_notify)(cl_context, void *),
						       void *user_data) {
	return svmrt_go_context_destructor(context, (void *)pfn_notify, user_data);
}

// ---- Command-queues --------------------------------------------------------

static cl_command_queue CL_API_CALL CreateCommandQueue(cl_context context, cl_device_id device,
						       cl_command_queue_properties properties, cl_int *errcode_ret) {
	return svmrt_go_create_queue(context, device, NULL, 1, properties, errcode_ret);
}

static cl_command_queue CL_API_CALL CreateCommandQueueWithProperties(cl_context context, cl_device_id device,
								     const cl_queue_properties *properties,
								     cl_int *errcode_ret) {
	return svmrt_go_create_queue(context, device, (cl_queue_properties *)properties, 0, 0, errcode_ret);
}

static cl_int CL_API_CALL RetainCommandQueue(cl_command_queue q) { return svmrt_go_retain(SVMRT_QUEUE, q); }
static cl_int CL_API_CALL ReleaseCommandQueue(cl_command_queue q) { return svmrt_go_release(SVMRT_QUEUE, q); }

static cl_int CL_API_CALL GetCommandQueueInfo(cl_command_queue q, cl_command_queue_info param_name,
					      size_t param_value_size, void *param_value,
					      size_t *param_value_size_ret) {
	return svmrt_go_queue_info(q, param_name, param_value_size, param_value, param_value_size_ret);
}

static cl_int CL_API_CALL SetCommandQueueProperty(cl_command_queue q, cl_command_queue_properties properties,
						  cl_bool enable, cl_command_queue_properties *old_properties) {
	return svmrt_go_set_queue_property(q, properties, enable, old_properties);
}

static cl_int CL_API_CALL Flush(cl_command_queue q) { return svmrt_go_flush(q); }
static cl_int CL_API_CALL Finish(cl_command_queue q) { return svmrt_go_finish(q); }

static cl_int CL_API_CALL SetDefaultDeviceCommandQueue(cl_context context, cl_device_id device,
						       cl_command_queue q) {
	NEED(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	NEED(SVMRT_DEVICE, device, CL_INVALID_DEVICE);
	// No device-side enqueue (CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES is 0):
	// no queue can be one, so the queue is not looked at.
	return CL_INVALID_OPERATION;
}

// ---- Memory objects: buffers (mem.go) ---------------------------------------

static cl_mem CL_API_CALL CreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host_ptr,
				       cl_int *errcode_ret) {
	return svmrt_go_create_buffer(context, NULL, 0, flags, size, host_ptr, errcode_ret);
}

static cl_mem CL_API_CALL CreateBufferWithProperties(cl_context context, const cl_mem_properties *properties,
						     cl_mem_flags flags, size_t size, void *host_ptr,
						     cl_int *errcode_ret) {
	return svmrt_go_create_buffer(context, (cl_mem_properties *)properties, 1, flags, size, host_ptr, errcode_ret);
}

static cl_mem CL_API_CALL CreateSubBuffer(cl_mem buffer, cl_mem_flags flags, cl_buffer_create_type type,
					  const void *info, cl_int *errcode_ret) {
	return svmrt_go_create_sub_buffer(buffer, flags, type, (void *)info, errcode_ret);
}

void svmrt_icd_call_mem_destructor(void *fn, void *mem, void *user_data) {
	((void(CL_CALLBACK *)(cl_mem, void *))fn)((cl_mem)mem, user_data);
}

// Images: CL_DEVICE_IMAGE_SUPPORT is CL_FALSE, for which the spec's code is
// CL_INVALID_OPERATION.
static cl_mem CL_API_CALL CreateImage(cl_context context, cl_mem_flags flags, const cl_image_format *format,
				      const cl_image_desc *desc, void *host_ptr, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_mem CL_API_CALL CreateImageWithProperties(cl_context context, const cl_mem_properties *properties,
						    cl_mem_flags flags, const cl_image_format *format,
						    const cl_image_desc *desc, void *host_ptr, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_mem CL_API_CALL CreateImage2D(cl_context context, cl_mem_flags flags, const cl_image_format *format,
					size_t width, size_t height, size_t row_pitch, void *host_ptr,
					cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_mem CL_API_CALL CreateImage3D(cl_context context, cl_mem_flags flags, const cl_image_format *format,
					size_t width, size_t height, size_t depth, size_t row_pitch,
					size_t slice_pitch, void *host_ptr, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_int CL_API_CALL GetSupportedImageFormats(cl_context context, cl_mem_flags flags,
						   cl_mem_object_type image_type, cl_uint num_entries,
						   cl_image_format *image_formats, cl_uint *num_image_formats) {
	NEED(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	switch (image_type) {
	case CL_MEM_OBJECT_IMAGE1D:
	case CL_MEM_OBJECT_IMAGE1D_BUFFER:
	case CL_MEM_OBJECT_IMAGE1D_ARRAY:
	case CL_MEM_OBJECT_IMAGE2D:
	case CL_MEM_OBJECT_IMAGE2D_ARRAY:
	case CL_MEM_OBJECT_IMAGE3D:
		break;
	default:
		return CL_INVALID_VALUE;
	}
	if (num_entries == 0 && image_formats != NULL)
		return CL_INVALID_VALUE;
	// The device supports no image format.
	if (num_image_formats)
		*num_image_formats = 0;
	return CL_SUCCESS;
}

static cl_mem CL_API_CALL CreatePipe(cl_context context, cl_mem_flags flags, cl_uint packet_size,
				     cl_uint max_packets, const cl_pipe_properties *properties, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION); // CL_DEVICE_PIPE_SUPPORT is CL_FALSE
}

static cl_int CL_API_CALL RetainMemObject(cl_mem m) { return svmrt_go_retain(SVMRT_MEM, m); }
static cl_int CL_API_CALL ReleaseMemObject(cl_mem m) { return svmrt_go_release(SVMRT_MEM, m); }

static cl_int CL_API_CALL GetMemObjectInfo(cl_mem m, cl_mem_info param_name, size_t size, void *value,
					   size_t *size_ret) {
	return svmrt_go_mem_info(m, param_name, size, value, size_ret);
}

// Every memory object is a buffer: not an image, not a pipe.
static cl_int CL_API_CALL GetImageInfo(cl_mem m, cl_image_info param_name, size_t size, void *value,
				       size_t *size_ret) {
	NEED(SVMRT_MEM, m, CL_INVALID_MEM_OBJECT);
	return CL_INVALID_MEM_OBJECT;
}

static cl_int CL_API_CALL GetPipeInfo(cl_mem m, cl_pipe_info param_name, size_t size, void *value,
				      size_t *size_ret) {
	NEED(SVMRT_MEM, m, CL_INVALID_MEM_OBJECT);
	return CL_INVALID_MEM_OBJECT;
}

static cl_int CL_API_CALL SetMemObjectDestructorCallback(cl_mem m, void(CL_CALLBACK *fn)(cl_mem, void *),
							 void *user_data) {
	return svmrt_go_mem_destructor(m, (void *)fn, user_data);
}

// ---- Shared virtual memory -------------------------------------------------

static void *CL_API_CALL SVMAlloc(cl_context context, cl_svm_mem_flags flags, size_t size, unsigned int alignment) {
	return svmrt_go_svm_alloc(context, flags, size, alignment); // NULL is its only failure
}

static void CL_API_CALL SVMFree(cl_context context, void *svm_pointer) { svmrt_go_svm_free(context, svm_pointer); }

// ---- Samplers: no image support (CL_INVALID_OPERATION) ---------------------

static cl_sampler CL_API_CALL CreateSampler(cl_context context, cl_bool normalized, cl_addressing_mode addressing,
					    cl_filter_mode filter, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_sampler CL_API_CALL CreateSamplerWithProperties(cl_context context, const cl_sampler_properties *props,
							  cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_int CL_API_CALL RetainSampler(cl_sampler s) { return svmrt_go_retain(SVMRT_SAMPLER, s); }
static cl_int CL_API_CALL ReleaseSampler(cl_sampler s) { return svmrt_go_release(SVMRT_SAMPLER, s); }

static cl_int CL_API_CALL GetSamplerInfo(cl_sampler s, cl_sampler_info param_name, size_t size, void *value,
					 size_t *size_ret) {
	NEED(SVMRT_SAMPLER, s, CL_INVALID_SAMPLER);
	return CL_INVALID_SAMPLER; // no sampler can be created (no images)
}

// ---- Programs --------------------------------------------------------------

typedef void(CL_CALLBACK *program_notify)(cl_program, void *);

static cl_program CL_API_CALL CreateProgramWithSource(cl_context context, cl_uint count, const char **strings,
						      const size_t *lengths, cl_int *errcode_ret) {
	return svmrt_go_create_program(context, count, (char **)strings, (size_t *)lengths, errcode_ret);
}

static cl_program CL_API_CALL CreateProgramWithBinary(cl_context context, cl_uint num_devices,
						      const cl_device_id *device_list, const size_t *lengths,
						      const unsigned char **binaries, cl_int *binary_status,
						      cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	if (num_devices == 0 || device_list == NULL)
		FAIL_E(CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		NEED_E(SVMRT_DEVICE, device_list[i], CL_INVALID_DEVICE);
	if (lengths == NULL || binaries == NULL)
		FAIL_E(CL_INVALID_VALUE);
	return svmrt_go_create_program_binary(context, num_devices, (void **)device_list, (size_t *)lengths,
					      (unsigned char **)binaries, binary_status, errcode_ret);
}

static cl_program CL_API_CALL CreateProgramWithBuiltInKernels(cl_context context, cl_uint num_devices,
							      const cl_device_id *device_list,
							      const char *kernel_names, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	if (num_devices == 0 || device_list == NULL)
		FAIL_E(CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		NEED_E(SVMRT_DEVICE, device_list[i], CL_INVALID_DEVICE);
	FAIL_E(CL_INVALID_VALUE); // the device has no built-in kernels
}

static cl_program CL_API_CALL CreateProgramWithIL(cl_context context, const void *il, size_t length,
						  cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	if (il == NULL || length == 0)
		FAIL_E(CL_INVALID_VALUE);
	FAIL_E(CL_INVALID_OPERATION); // CL_DEVICE_IL_VERSION is empty: no intermediate language
}

static cl_int CL_API_CALL RetainProgram(cl_program p) { return svmrt_go_retain(SVMRT_PROGRAM, p); }
static cl_int CL_API_CALL ReleaseProgram(cl_program p) { return svmrt_go_release(SVMRT_PROGRAM, p); }

static cl_int CL_API_CALL BuildProgram(cl_program p, cl_uint num_devices, const cl_device_id *device_list,
				       const char *options, program_notify fn, void *user_data) {
	return svmrt_go_build_program(p, num_devices, (void **)device_list, (char *)options, (void *)fn, user_data);
}

static cl_int CL_API_CALL CompileProgram(cl_program p, cl_uint num_devices, const cl_device_id *device_list,
					 const char *options, cl_uint num_input_headers,
					 const cl_program *input_headers, const char **header_include_names,
					 program_notify fn, void *user_data) {
	return svmrt_go_compile_program(p, num_devices, (void **)device_list, (char *)options, num_input_headers,
					(void **)input_headers, (char **)header_include_names, (void *)fn, user_data);
}

static cl_program CL_API_CALL LinkProgram(cl_context context, cl_uint num_devices, const cl_device_id *device_list,
					  const char *options, cl_uint num_input_programs,
					  const cl_program *input_programs, program_notify fn, void *user_data,
					  cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	cl_int r = check_devices(num_devices, device_list);
	if (r != CL_SUCCESS)
		FAIL_E(r);
	if (num_input_programs == 0 || input_programs == NULL)
		FAIL_E(CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_input_programs; i++)
		NEED_E(SVMRT_PROGRAM, input_programs[i], CL_INVALID_PROGRAM);
	return svmrt_go_link_program(context, num_devices, (void **)device_list, (char *)options, num_input_programs,
				     (void **)input_programs, (void *)fn, user_data, errcode_ret);
}

static cl_int CL_API_CALL GetProgramInfo(cl_program p, cl_program_info param_name, size_t size, void *value,
					 size_t *size_ret) {
	return svmrt_go_program_info(p, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL GetProgramBuildInfo(cl_program p, cl_device_id device, cl_program_build_info param_name,
					      size_t size, void *value, size_t *size_ret) {
	return svmrt_go_program_build_info(p, device, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL SetProgramReleaseCallback(cl_program p, program_notify fn, void *user_data) {
	NEED(SVMRT_PROGRAM, p, CL_INVALID_PROGRAM);
	// The spec's code when no device supports destructors of program-scope
	// globals: OpenCL C has none.
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL SetProgramSpecializationConstant(cl_program p, cl_uint spec_id, size_t spec_size,
							   const void *spec_value) {
	NEED(SVMRT_PROGRAM, p, CL_INVALID_PROGRAM);
	return CL_INVALID_OPERATION; // the device supports no intermediate language (clCreateProgramWithIL)
}

// ---- Kernels ---------------------------------------------------------------

static cl_kernel CL_API_CALL CreateKernel(cl_program p, const char *name, cl_int *errcode_ret) {
	return svmrt_go_create_kernel(p, (char *)name, errcode_ret);
}

static cl_int CL_API_CALL CreateKernelsInProgram(cl_program p, cl_uint num_kernels, cl_kernel *kernels,
						 cl_uint *num_kernels_ret) {
	return svmrt_go_create_kernels(p, num_kernels, (void **)kernels, num_kernels_ret);
}

static cl_kernel CL_API_CALL CloneKernel(cl_kernel k, cl_int *errcode_ret) { return svmrt_go_clone_kernel(k, errcode_ret); }

static cl_int CL_API_CALL RetainKernel(cl_kernel k) { return svmrt_go_retain(SVMRT_KERNEL, k); }
static cl_int CL_API_CALL ReleaseKernel(cl_kernel k) { return svmrt_go_release(SVMRT_KERNEL, k); }

static cl_int CL_API_CALL SetKernelArg(cl_kernel k, cl_uint index, size_t size, const void *value) {
	return svmrt_go_set_kernel_arg(k, index, size, (void *)value, 0);
}

static cl_int CL_API_CALL SetKernelArgSVMPointer(cl_kernel k, cl_uint index, const void *value) {
	return svmrt_go_set_kernel_arg(k, index, sizeof(void *), (void *)value, 1);
}

static cl_int CL_API_CALL SetKernelExecInfo(cl_kernel k, cl_kernel_exec_info param_name, size_t size,
					    const void *value) {
	return svmrt_go_set_kernel_exec_info(k, param_name, size, (void *)value);
}

static cl_int CL_API_CALL GetKernelInfo(cl_kernel k, cl_kernel_info param_name, size_t size, void *value,
					size_t *size_ret) {
	return svmrt_go_kernel_info(k, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL GetKernelArgInfo(cl_kernel k, cl_uint index, cl_kernel_arg_info param_name, size_t size,
					   void *value, size_t *size_ret) {
	return svmrt_go_kernel_arg_info(k, index, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL GetKernelWorkGroupInfo(cl_kernel k, cl_device_id device,
						 cl_kernel_work_group_info param_name, size_t size, void *value,
						 size_t *size_ret) {
	return svmrt_go_kernel_work_group_info(k, device, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL GetKernelSubGroupInfo(cl_kernel k, cl_device_id device,
						cl_kernel_sub_group_info param_name, size_t input_size,
						const void *input, size_t size, void *value, size_t *size_ret) {
	NEED(SVMRT_KERNEL, k, CL_INVALID_KERNEL);
	return CL_INVALID_OPERATION; // no sub-groups (CL_DEVICE_MAX_NUM_SUB_GROUPS is 0)
}

// ---- Events ----------------------------------------------------------------

static cl_int CL_API_CALL WaitForEvents(cl_uint num_events, const cl_event *event_list) {
	return svmrt_go_wait_for_events(num_events, (void **)event_list);
}

static cl_int CL_API_CALL GetEventInfo(cl_event e, cl_event_info param_name, size_t size, void *value,
				       size_t *size_ret) {
	return svmrt_go_event_info(e, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL GetEventProfilingInfo(cl_event e, cl_profiling_info param_name, size_t size,
						void *value, size_t *size_ret) {
	return svmrt_go_event_profiling(e, param_name, size, value, size_ret);
}

static cl_int CL_API_CALL RetainEvent(cl_event e) { return svmrt_go_retain(SVMRT_EVENT, e); }
static cl_int CL_API_CALL ReleaseEvent(cl_event e) { return svmrt_go_release(SVMRT_EVENT, e); }

static cl_event CL_API_CALL CreateUserEvent(cl_context context, cl_int *errcode_ret) {
	return svmrt_go_create_user_event(context, errcode_ret);
}

static cl_int CL_API_CALL SetUserEventStatus(cl_event e, cl_int status) {
	return svmrt_go_set_user_event_status(e, status);
}

static cl_int CL_API_CALL SetEventCallback(cl_event e, cl_int type, void(CL_CALLBACK *fn)(cl_event, cl_int, void *),
					   void *user_data) {
	return svmrt_go_set_event_callback(e, type, (void *)fn, user_data);
}

// ---- Enqueued commands -------------------------------------------------------
//
// Kernels, markers, barriers, SVM and buffer commands go to Go (enqueue.go,
// launch.go, svm.go, buffer.go, mapmem.go). The image commands check their
// queue and memory objects, then refuse: no memory object is an image.

#define NEED_Q(q) NEED(SVMRT_QUEUE, q, CL_INVALID_COMMAND_QUEUE)
#define NEED_M(m) NEED(SVMRT_MEM, m, CL_INVALID_MEM_OBJECT)

static cl_int CL_API_CALL EnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
					    size_t size, void *ptr, cl_uint n, const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_rw(q, m, 0, blocking, offset, size, ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
					     size_t size, const void *ptr, cl_uint n, const cl_event *wl,
					     cl_event *ev) {
	return svmrt_go_enqueue_rw(q, m, 1, blocking, offset, size, (void *)ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
						const size_t *buffer_origin, const size_t *host_origin,
						const size_t *region, size_t buffer_row_pitch,
						size_t buffer_slice_pitch, size_t host_row_pitch,
						size_t host_slice_pitch, void *ptr, cl_uint n, const cl_event *wl,
						cl_event *ev) {
	return svmrt_go_enqueue_rw_rect(q, m, 0, blocking, (size_t *)buffer_origin, (size_t *)host_origin,
					(size_t *)region, buffer_row_pitch, buffer_slice_pitch, host_row_pitch,
					host_slice_pitch, ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueWriteBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
						 const size_t *buffer_origin, const size_t *host_origin,
						 const size_t *region, size_t buffer_row_pitch,
						 size_t buffer_slice_pitch, size_t host_row_pitch,
						 size_t host_slice_pitch, const void *ptr, cl_uint n,
						 const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_rw_rect(q, m, 1, blocking, (size_t *)buffer_origin, (size_t *)host_origin,
					(size_t *)region, buffer_row_pitch, buffer_slice_pitch, host_row_pitch,
					host_slice_pitch, (void *)ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset,
					    size_t dst_offset, size_t size, cl_uint n, const cl_event *wl,
					    cl_event *ev) {
	return svmrt_go_enqueue_copy(q, src, dst, src_offset, dst_offset, size, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst,
						const size_t *src_origin, const size_t *dst_origin,
						const size_t *region, size_t src_row_pitch, size_t src_slice_pitch,
						size_t dst_row_pitch, size_t dst_slice_pitch, cl_uint n,
						const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_copy_rect(q, src, dst, (size_t *)src_origin, (size_t *)dst_origin, (size_t *)region,
					  src_row_pitch, src_slice_pitch, dst_row_pitch, dst_slice_pitch, n,
					  (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pattern, size_t pattern_size,
					    size_t offset, size_t size, cl_uint n, const cl_event *wl,
					    cl_event *ev) {
	return svmrt_go_enqueue_fill(q, m, (void *)pattern, pattern_size, offset, size, n, (void **)wl, (void **)ev);
}

static void *CL_API_CALL EnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, cl_map_flags flags,
					  size_t offset, size_t size, cl_uint n, const cl_event *wl, cl_event *ev,
					  cl_int *errcode_ret) {
	return svmrt_go_enqueue_map(q, m, blocking, flags, offset, size, n, (void **)wl, (void **)ev, errcode_ret);
}

static cl_int CL_API_CALL EnqueueUnmapMemObject(cl_command_queue q, cl_mem m, void *mapped_ptr, cl_uint n,
						const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_unmap(q, m, mapped_ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueMigrateMemObjects(cl_command_queue q, cl_uint num_mem_objects,
						   const cl_mem *mem_objects, cl_mem_migration_flags flags,
						   cl_uint n, const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_migrate_mems(q, num_mem_objects, (void **)mem_objects, flags, n, (void **)wl,
					     (void **)ev);
}

// Image commands: an image cannot exist (no image support).
static cl_int CL_API_CALL EnqueueReadImage(cl_command_queue q, cl_mem image, cl_bool blocking,
					   const size_t *origin, const size_t *region, size_t row_pitch,
					   size_t slice_pitch, void *ptr, cl_uint n, const cl_event *wl,
					   cl_event *ev) {
	NEED_Q(q);
	NEED_M(image);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueWriteImage(cl_command_queue q, cl_mem image, cl_bool blocking,
					    const size_t *origin, const size_t *region, size_t input_row_pitch,
					    size_t input_slice_pitch, const void *ptr, cl_uint n,
					    const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	NEED_M(image);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueFillImage(cl_command_queue q, cl_mem image, const void *fill_color,
					   const size_t *origin, const size_t *region, cl_uint n, const cl_event *wl,
					   cl_event *ev) {
	NEED_Q(q);
	NEED_M(image);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueCopyImage(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *src_origin,
					   const size_t *dst_origin, const size_t *region, cl_uint n,
					   const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	NEED_M(src);
	NEED_M(dst);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueCopyImageToBuffer(cl_command_queue q, cl_mem src, cl_mem dst,
						   const size_t *src_origin, const size_t *region, size_t dst_offset,
						   cl_uint n, const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	NEED_M(src);
	NEED_M(dst);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueCopyBufferToImage(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset,
						   const size_t *dst_origin, const size_t *region, cl_uint n,
						   const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	NEED_M(src);
	NEED_M(dst);
	return CL_INVALID_OPERATION;
}

static void *CL_API_CALL EnqueueMapImage(cl_command_queue q, cl_mem image, cl_bool blocking, cl_map_flags flags,
					 const size_t *origin, const size_t *region, size_t *row_pitch,
					 size_t *slice_pitch, cl_uint n, const cl_event *wl, cl_event *ev,
					 cl_int *errcode_ret) {
	NEED_E(SVMRT_QUEUE, q, CL_INVALID_COMMAND_QUEUE);
	NEED_E(SVMRT_MEM, image, CL_INVALID_MEM_OBJECT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_int CL_API_CALL EnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint work_dim,
					       const size_t *global_offset, const size_t *global_size,
					       const size_t *local_size, cl_uint n, const cl_event *wl,
					       cl_event *ev) {
	return svmrt_go_enqueue_kernel(q, k, work_dim, (size_t *)global_offset, (size_t *)global_size,
				       (size_t *)local_size, n, (void **)wl, (void **)ev, 0);
}

static cl_int CL_API_CALL EnqueueTask(cl_command_queue q, cl_kernel k, cl_uint n, const cl_event *wl,
				      cl_event *ev) {
	return svmrt_go_enqueue_kernel(q, k, 1, NULL, NULL, NULL, n, (void **)wl, (void **)ev, 1);
}

static cl_int CL_API_CALL EnqueueNativeKernel(cl_command_queue q, void(CL_CALLBACK *user_func)(void *), void *args,
					      size_t cb_args, cl_uint num_mem_objects, const cl_mem *mem_list,
					      const void **args_mem_loc, cl_uint n, const cl_event *wl,
					      cl_event *ev) {
	NEED_Q(q);
	return CL_INVALID_OPERATION; // CL_DEVICE_EXECUTION_CAPABILITIES has no CL_EXEC_NATIVE_KERNEL
}

static cl_int CL_API_CALL EnqueueMarker(cl_command_queue q, cl_event *ev) {
	NEED_Q(q);
	if (ev == NULL)
		return CL_INVALID_VALUE;
	return svmrt_go_marker(q, 0, NULL, (void **)ev, CL_COMMAND_MARKER);
}

static cl_int CL_API_CALL EnqueueWaitForEvents(cl_command_queue q, cl_uint num_events, const cl_event *event_list) {
	NEED_Q(q);
	if (num_events == 0 || event_list == NULL)
		return CL_INVALID_VALUE;
	for (cl_uint i = 0; i < num_events; i++)
		NEED(SVMRT_EVENT, event_list[i], CL_INVALID_EVENT);
	return svmrt_go_marker(q, num_events, (void **)event_list, NULL, CL_COMMAND_BARRIER);
}

static cl_int CL_API_CALL EnqueueBarrier(cl_command_queue q) {
	return svmrt_go_marker(q, 0, NULL, NULL, CL_COMMAND_BARRIER);
}

static cl_int CL_API_CALL EnqueueMarkerWithWaitList(cl_command_queue q, cl_uint n, const cl_event *wl,
						    cl_event *ev) {
	return svmrt_go_marker(q, n, (void **)wl, (void **)ev, CL_COMMAND_MARKER);
}

static cl_int CL_API_CALL EnqueueBarrierWithWaitList(cl_command_queue q, cl_uint n, const cl_event *wl,
						     cl_event *ev) {
	return svmrt_go_marker(q, n, (void **)wl, (void **)ev, CL_COMMAND_BARRIER);
}

typedef void(CL_CALLBACK *svm_free_fn)(cl_command_queue, cl_uint, void *[], void *);

static cl_int CL_API_CALL EnqueueSVMFree(cl_command_queue q, cl_uint num_svm_pointers, void *svm_pointers[],
					 svm_free_fn fn, void *user_data, cl_uint n, const cl_event *wl,
					 cl_event *ev) {
	return svmrt_go_enqueue_svm_free(q, num_svm_pointers, svm_pointers, (void *)fn, user_data, n, (void **)wl,
					 (void **)ev);
}

static cl_int CL_API_CALL EnqueueSVMMemcpy(cl_command_queue q, cl_bool blocking, void *dst, const void *src,
					   size_t size, cl_uint n, const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_svm_memcpy(q, blocking, dst, (void *)src, size, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueSVMMemFill(cl_command_queue q, void *svm_ptr, const void *pattern,
					    size_t pattern_size, size_t size, cl_uint n, const cl_event *wl,
					    cl_event *ev) {
	return svmrt_go_enqueue_svm_fill(q, svm_ptr, (void *)pattern, pattern_size, size, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueSVMMap(cl_command_queue q, cl_bool blocking, cl_map_flags flags, void *svm_ptr,
					size_t size, cl_uint n, const cl_event *wl, cl_event *ev) {
	return svmrt_go_enqueue_svm_map(q, blocking, flags, svm_ptr, size, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueSVMUnmap(cl_command_queue q, void *svm_ptr, cl_uint n, const cl_event *wl,
					  cl_event *ev) {
	return svmrt_go_enqueue_svm_unmap(q, svm_ptr, n, (void **)wl, (void **)ev);
}

static cl_int CL_API_CALL EnqueueSVMMigrateMem(cl_command_queue q, cl_uint num_svm_pointers,
					       const void **svm_pointers, const size_t *sizes,
					       cl_mem_migration_flags flags, cl_uint n, const cl_event *wl,
					       cl_event *ev) {
	return svmrt_go_enqueue_svm_migrate(q, num_svm_pointers, (void **)svm_pointers, (size_t *)sizes, flags, n,
					    (void **)wl, (void **)ev);
}

// ---- Sharing with other APIs: none ------------------------------------------
//
// No context can be created from a GL or EGL context (clCreateContext refuses
// their properties), so the GL calls get the spec's CL_INVALID_CONTEXT for a
// context "not created from a GL context"; the extensions' own calls get
// CL_INVALID_OPERATION.

static cl_mem CL_API_CALL CreateFromGLBuffer(cl_context context, cl_mem_flags flags, cl_GLuint bufobj,
					     int *errcode_ret) {
	FAIL_E(CL_INVALID_CONTEXT);
}

static cl_mem CL_API_CALL CreateFromGLTexture(cl_context context, cl_mem_flags flags, cl_GLenum target,
					      cl_GLint miplevel, cl_GLuint texture, cl_int *errcode_ret) {
	FAIL_E(CL_INVALID_CONTEXT);
}

static cl_mem CL_API_CALL CreateFromGLRenderbuffer(cl_context context, cl_mem_flags flags, cl_GLuint renderbuffer,
						   cl_int *errcode_ret) {
	FAIL_E(CL_INVALID_CONTEXT);
}

static cl_int CL_API_CALL GetGLObjectInfo(cl_mem m, cl_gl_object_type *type, cl_GLuint *name) {
	NEED_M(m);
	return CL_INVALID_GL_OBJECT;
}

static cl_int CL_API_CALL GetGLTextureInfo(cl_mem m, cl_gl_texture_info param_name, size_t size, void *value,
					   size_t *size_ret) {
	NEED_M(m);
	return CL_INVALID_GL_OBJECT;
}

static cl_int CL_API_CALL EnqueueAcquireGLObjects(cl_command_queue q, cl_uint num_objects, const cl_mem *mem_objects,
						  cl_uint n, const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	return CL_INVALID_CONTEXT;
}

static cl_int CL_API_CALL EnqueueReleaseGLObjects(cl_command_queue q, cl_uint num_objects, const cl_mem *mem_objects,
						  cl_uint n, const cl_event *wl, cl_event *ev) {
	NEED_Q(q);
	return CL_INVALID_CONTEXT;
}

static cl_int CL_API_CALL GetGLContextInfoKHR(const cl_context_properties *properties, cl_gl_context_info param_name,
					      size_t size, void *value, size_t *size_ret) {
	return CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR; // no GL context can be named
}

static cl_event CL_API_CALL CreateEventFromGLsyncKHR(cl_context context, cl_GLsync sync, cl_int *errcode_ret) {
	FAIL_E(CL_INVALID_CONTEXT);
}

static cl_mem CL_API_CALL CreateFromEGLImageKHR(cl_context context, CLeglDisplayKHR display, CLeglImageKHR image,
						cl_mem_flags flags, const cl_egl_image_properties_khr *properties,
						cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

static cl_int CL_API_CALL EnqueueAcquireEGLObjectsKHR(cl_command_queue q, cl_uint num_objects,
						      const cl_mem *mem_objects, cl_uint n, const cl_event *wl,
						      cl_event *ev) {
	NEED_Q(q);
	return CL_INVALID_OPERATION;
}

static cl_int CL_API_CALL EnqueueReleaseEGLObjectsKHR(cl_command_queue q, cl_uint num_objects,
						      const cl_mem *mem_objects, cl_uint n, const cl_event *wl,
						      cl_event *ev) {
	NEED_Q(q);
	return CL_INVALID_OPERATION;
}

static cl_event CL_API_CALL CreateEventFromEGLSyncKHR(cl_context context, CLeglSyncKHR sync,
						      CLeglDisplayKHR display, cl_int *errcode_ret) {
	NEED_E(SVMRT_CONTEXT, context, CL_INVALID_CONTEXT);
	FAIL_E(CL_INVALID_OPERATION);
}

// ---- The table ---------------------------------------------------------------
//
// In cl_icd.h's order. The Direct3D and DX9 entries are Windows-only (void *
// on Linux) and stay NULL: no Linux loader calls them.

static const cl_icd_dispatch dispatch = {
	.clGetPlatformIDs = GetPlatformIDs,
	.clGetPlatformInfo = GetPlatformInfo,
	.clGetDeviceIDs = GetDeviceIDs,
	.clGetDeviceInfo = GetDeviceInfo,
	.clCreateContext = CreateContext,
	.clCreateContextFromType = CreateContextFromType,
	.clRetainContext = RetainContext,
	.clReleaseContext = ReleaseContext,
	.clGetContextInfo = GetContextInfo,
	.clCreateCommandQueue = CreateCommandQueue,
	.clRetainCommandQueue = RetainCommandQueue,
	.clReleaseCommandQueue = ReleaseCommandQueue,
	.clGetCommandQueueInfo = GetCommandQueueInfo,
	.clSetCommandQueueProperty = SetCommandQueueProperty,
	.clCreateBuffer = CreateBuffer,
	.clCreateImage2D = CreateImage2D,
	.clCreateImage3D = CreateImage3D,
	.clRetainMemObject = RetainMemObject,
	.clReleaseMemObject = ReleaseMemObject,
	.clGetSupportedImageFormats = GetSupportedImageFormats,
	.clGetMemObjectInfo = GetMemObjectInfo,
	.clGetImageInfo = GetImageInfo,
	.clCreateSampler = CreateSampler,
	.clRetainSampler = RetainSampler,
	.clReleaseSampler = ReleaseSampler,
	.clGetSamplerInfo = GetSamplerInfo,
	.clCreateProgramWithSource = CreateProgramWithSource,
	.clCreateProgramWithBinary = CreateProgramWithBinary,
	.clRetainProgram = RetainProgram,
	.clReleaseProgram = ReleaseProgram,
	.clBuildProgram = BuildProgram,
	.clUnloadCompiler = UnloadCompiler,
	.clGetProgramInfo = GetProgramInfo,
	.clGetProgramBuildInfo = GetProgramBuildInfo,
	.clCreateKernel = CreateKernel,
	.clCreateKernelsInProgram = CreateKernelsInProgram,
	.clRetainKernel = RetainKernel,
	.clReleaseKernel = ReleaseKernel,
	.clSetKernelArg = SetKernelArg,
	.clGetKernelInfo = GetKernelInfo,
	.clGetKernelWorkGroupInfo = GetKernelWorkGroupInfo,
	.clWaitForEvents = WaitForEvents,
	.clGetEventInfo = GetEventInfo,
	.clRetainEvent = RetainEvent,
	.clReleaseEvent = ReleaseEvent,
	.clGetEventProfilingInfo = GetEventProfilingInfo,
	.clFlush = Flush,
	.clFinish = Finish,
	.clEnqueueReadBuffer = EnqueueReadBuffer,
	.clEnqueueWriteBuffer = EnqueueWriteBuffer,
	.clEnqueueCopyBuffer = EnqueueCopyBuffer,
	.clEnqueueReadImage = EnqueueReadImage,
	.clEnqueueWriteImage = EnqueueWriteImage,
	.clEnqueueCopyImage = EnqueueCopyImage,
	.clEnqueueCopyImageToBuffer = EnqueueCopyImageToBuffer,
	.clEnqueueCopyBufferToImage = EnqueueCopyBufferToImage,
	.clEnqueueMapBuffer = EnqueueMapBuffer,
	.clEnqueueMapImage = EnqueueMapImage,
	.clEnqueueUnmapMemObject = EnqueueUnmapMemObject,
	.clEnqueueNDRangeKernel = EnqueueNDRangeKernel,
	.clEnqueueTask = EnqueueTask,
	.clEnqueueNativeKernel = EnqueueNativeKernel,
	.clEnqueueMarker = EnqueueMarker,
	.clEnqueueWaitForEvents = EnqueueWaitForEvents,
	.clEnqueueBarrier = EnqueueBarrier,
	.clGetExtensionFunctionAddress = GetExtensionFunctionAddress,
	.clCreateFromGLBuffer = CreateFromGLBuffer,
	.clCreateFromGLTexture2D = CreateFromGLTexture,
	.clCreateFromGLTexture3D = CreateFromGLTexture,
	.clCreateFromGLRenderbuffer = CreateFromGLRenderbuffer,
	.clGetGLObjectInfo = GetGLObjectInfo,
	.clGetGLTextureInfo = GetGLTextureInfo,
	.clEnqueueAcquireGLObjects = EnqueueAcquireGLObjects,
	.clEnqueueReleaseGLObjects = EnqueueReleaseGLObjects,
	.clGetGLContextInfoKHR = GetGLContextInfoKHR,

	.clSetEventCallback = SetEventCallback,
	.clCreateSubBuffer = CreateSubBuffer,
	.clSetMemObjectDestructorCallback = SetMemObjectDestructorCallback,
	.clCreateUserEvent = CreateUserEvent,
	.clSetUserEventStatus = SetUserEventStatus,
	.clEnqueueReadBufferRect = EnqueueReadBufferRect,
	.clEnqueueWriteBufferRect = EnqueueWriteBufferRect,
	.clEnqueueCopyBufferRect = EnqueueCopyBufferRect,

	.clCreateSubDevicesEXT = CreateSubDevicesEXT,
	.clRetainDeviceEXT = RetainDevice,
	.clReleaseDeviceEXT = ReleaseDevice,

	.clCreateEventFromGLsyncKHR = CreateEventFromGLsyncKHR,

	.clCreateSubDevices = CreateSubDevices,
	.clRetainDevice = RetainDevice,
	.clReleaseDevice = ReleaseDevice,
	.clCreateImage = CreateImage,
	.clCreateProgramWithBuiltInKernels = CreateProgramWithBuiltInKernels,
	.clCompileProgram = CompileProgram,
	.clLinkProgram = LinkProgram,
	.clUnloadPlatformCompiler = UnloadPlatformCompiler,
	.clGetKernelArgInfo = GetKernelArgInfo,
	.clEnqueueFillBuffer = EnqueueFillBuffer,
	.clEnqueueFillImage = EnqueueFillImage,
	.clEnqueueMigrateMemObjects = EnqueueMigrateMemObjects,
	.clEnqueueMarkerWithWaitList = EnqueueMarkerWithWaitList,
	.clEnqueueBarrierWithWaitList = EnqueueBarrierWithWaitList,
	.clGetExtensionFunctionAddressForPlatform = GetExtensionFunctionAddressForPlatform,
	.clCreateFromGLTexture = CreateFromGLTexture,

	.clCreateFromEGLImageKHR = CreateFromEGLImageKHR,
	.clEnqueueAcquireEGLObjectsKHR = EnqueueAcquireEGLObjectsKHR,
	.clEnqueueReleaseEGLObjectsKHR = EnqueueReleaseEGLObjectsKHR,
	.clCreateEventFromEGLSyncKHR = CreateEventFromEGLSyncKHR,

	.clCreateCommandQueueWithProperties = CreateCommandQueueWithProperties,
	.clCreatePipe = CreatePipe,
	.clGetPipeInfo = GetPipeInfo,
	.clSVMAlloc = SVMAlloc,
	.clSVMFree = SVMFree,
	.clEnqueueSVMFree = EnqueueSVMFree,
	.clEnqueueSVMMemcpy = EnqueueSVMMemcpy,
	.clEnqueueSVMMemFill = EnqueueSVMMemFill,
	.clEnqueueSVMMap = EnqueueSVMMap,
	.clEnqueueSVMUnmap = EnqueueSVMUnmap,
	.clCreateSamplerWithProperties = CreateSamplerWithProperties,
	.clSetKernelArgSVMPointer = SetKernelArgSVMPointer,
	.clSetKernelExecInfo = SetKernelExecInfo,

	.clGetKernelSubGroupInfoKHR = GetKernelSubGroupInfo,

	.clCloneKernel = CloneKernel,
	.clCreateProgramWithIL = CreateProgramWithIL,
	.clEnqueueSVMMigrateMem = EnqueueSVMMigrateMem,
	.clGetDeviceAndHostTimer = GetDeviceAndHostTimer,
	.clGetHostTimer = GetHostTimer,
	.clGetKernelSubGroupInfo = GetKernelSubGroupInfo,
	.clSetDefaultDeviceCommandQueue = SetDefaultDeviceCommandQueue,

	.clSetProgramReleaseCallback = SetProgramReleaseCallback,
	.clSetProgramSpecializationConstant = SetProgramSpecializationConstant,

	.clCreateBufferWithProperties = CreateBufferWithProperties,
	.clCreateImageWithProperties = CreateImageWithProperties,
	.clSetContextDestructorCallback = SetContextDestructorCallback,
};
