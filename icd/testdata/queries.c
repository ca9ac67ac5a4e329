// queries.c: an OpenCL host program that checks svmrt's ICD through the ICD
// loader (link with -lOpenCL, select the platform with OCL_ICD_VENDORS):
// platform, device, context and command-queue queries and reference
// counts, the spec's error codes for bad handles, names and sizes, and the
// calls the ICD does not implement yet (buffers), which must fail without
// crashing. Programs, kernels, events and SVM are checked by kernels.c,
// svm.c and badinput.c.
//
//	queries EXPECTED_VRAM_BYTES
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"
#include <CL/cl_icd.h>

static int order[4], norder;

static void CL_CALLBACK destructor(cl_context c, void *user_data) {
	if (norder < 4)
		order[norder++] = (int)(intptr_t)user_data;
}

static void CL_CALLBACK notify(const char *errinfo, const void *private_info, size_t cb, void *user_data) {}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: queries EXPECTED_VRAM_BYTES\n");
		return 2;
	}
	cl_ulong want_vram = strtoull(argv[1], NULL, 10);
	char buf[4096];
	size_t size;
	cl_int err;

	// ---- Platform ----
	cl_uint np = 0;
	CODE(clGetPlatformIDs(0, NULL, &np), CL_SUCCESS);
	CHECK(np == 1, "%u platforms, want 1 (is OCL_ICD_VENDORS set to svmrt's ICD alone?)", np);
	if (np != 1)
		goto out;
	cl_platform_id p;
	CODE(clGetPlatformIDs(1, &p, NULL), CL_SUCCESS);
	CODE(clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(strcmp(buf, "svmrt") == 0 && size == 6, "platform name %s (size %zu)", buf, size);
	CODE(clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strncmp(buf, "OpenCL 3.0 ", 11) == 0, "platform version %s", buf);
	CODE(clGetPlatformInfo(p, CL_PLATFORM_EXTENSIONS, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strstr(buf, "cl_khr_icd") != NULL, "platform extensions %s", buf);
	CODE(clGetPlatformInfo(p, CL_PLATFORM_NAME, 3, buf, NULL), CL_INVALID_VALUE);   // too small
	CODE(clGetPlatformInfo(p, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);     // no such name
	CODE(clGetPlatformInfo(p, CL_PLATFORM_NAME, 0, NULL, &size), CL_SUCCESS);        // size only
	CHECK(size == 6, "size %zu", size);
	struct forged fp = forge(p);
	CODE(clGetPlatformInfo((cl_platform_id)&fp, CL_PLATFORM_NAME, sizeof buf, buf, NULL), CL_INVALID_PLATFORM);
	CODE(clUnloadPlatformCompiler(p), CL_SUCCESS);
	CODE(clUnloadPlatformCompiler((cl_platform_id)&fp), CL_INVALID_PLATFORM);
	CHECK(clGetExtensionFunctionAddressForPlatform(p, "clNoSuchFunctionSVMRT") == NULL, "an extension function");

	// Every entry of the dispatch table is filled but the Windows-only
	// Direct3D and DX9 ones (void * in the Linux header).
	const cl_icd_dispatch *table = *(const cl_icd_dispatch *const *)p;
	static const size_t windows_only[] = {
		offsetof(cl_icd_dispatch, clGetDeviceIDsFromD3D10KHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D10BufferKHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D10Texture2DKHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D10Texture3DKHR),
		offsetof(cl_icd_dispatch, clEnqueueAcquireD3D10ObjectsKHR),
		offsetof(cl_icd_dispatch, clEnqueueReleaseD3D10ObjectsKHR),
		offsetof(cl_icd_dispatch, clGetDeviceIDsFromD3D11KHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D11BufferKHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D11Texture2DKHR),
		offsetof(cl_icd_dispatch, clCreateFromD3D11Texture3DKHR),
		offsetof(cl_icd_dispatch, clCreateFromDX9MediaSurfaceKHR),
		offsetof(cl_icd_dispatch, clEnqueueAcquireD3D11ObjectsKHR),
		offsetof(cl_icd_dispatch, clEnqueueReleaseD3D11ObjectsKHR),
		offsetof(cl_icd_dispatch, clGetDeviceIDsFromDX9MediaAdapterKHR),
		offsetof(cl_icd_dispatch, clEnqueueAcquireDX9MediaSurfacesKHR),
		offsetof(cl_icd_dispatch, clEnqueueReleaseDX9MediaSurfacesKHR),
	};
	for (size_t off = 0; off < sizeof *table; off += sizeof(void *)) {
		int skip = 0;
		for (size_t i = 0; i < sizeof windows_only / sizeof windows_only[0]; i++)
			skip |= windows_only[i] == off;
		void *fn = *(void *const *)((const char *)table + off);
		CHECK(skip || fn != NULL, "dispatch table entry %zu is NULL", off / sizeof(void *));
	}

	// ---- Device ----
	cl_uint nd = 0;
	cl_device_id d, ds[2];
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd), CL_SUCCESS);
	CHECK(nd == 1, "%u devices", nd);
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_GPU, 1, &d, NULL), CL_SUCCESS);
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_DEFAULT, 2, ds, &nd), CL_SUCCESS);
	CHECK(nd == 1 && ds[0] == d, "default device");
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_CPU, 1, ds, NULL), CL_DEVICE_NOT_FOUND);
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_ACCELERATOR, 1, ds, NULL), CL_DEVICE_NOT_FOUND);
	CODE(clGetDeviceIDs(p, 0, 1, ds, NULL), CL_INVALID_DEVICE_TYPE);
	CODE(clGetDeviceIDs(p, (cl_device_type)1 << 40, 1, ds, NULL), CL_INVALID_DEVICE_TYPE);
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_GPU, 0, ds, NULL), CL_INVALID_VALUE);
	CODE(clGetDeviceIDs(p, CL_DEVICE_TYPE_GPU, 1, NULL, NULL), CL_INVALID_VALUE);
	CODE(clGetDeviceIDs((cl_platform_id)&fp, CL_DEVICE_TYPE_GPU, 1, ds, NULL), CL_INVALID_PLATFORM);

	cl_device_type type = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL), CL_SUCCESS);
	CHECK(type == CL_DEVICE_TYPE_GPU, "device type %" PRIu64, (uint64_t)type);
	cl_device_svm_capabilities svm = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_SVM_CAPABILITIES, sizeof svm, &svm, NULL), CL_SUCCESS);
	CHECK(svm == (CL_DEVICE_SVM_COARSE_GRAIN_BUFFER | CL_DEVICE_SVM_FINE_GRAIN_BUFFER |
		      CL_DEVICE_SVM_FINE_GRAIN_SYSTEM | CL_DEVICE_SVM_ATOMICS),
	      "SVM capabilities %#" PRIx64, (uint64_t)svm);
	cl_ulong mem = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL), CL_SUCCESS);
	CHECK(mem == want_vram, "global memory %" PRIu64 ", want %" PRIu64, (uint64_t)mem, (uint64_t)want_vram);
	cl_platform_id dp = NULL;
	CODE(clGetDeviceInfo(d, CL_DEVICE_PLATFORM, sizeof dp, &dp, NULL), CL_SUCCESS);
	CHECK(dp == p, "device platform");
	cl_version v = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_NUMERIC_VERSION, sizeof v, &v, NULL), CL_SUCCESS);
	CHECK(v == CL_MAKE_VERSION(3, 0, 0), "numeric version %#x", v);
	cl_name_version cv[8];
	CODE(clGetDeviceInfo(d, CL_DEVICE_OPENCL_C_ALL_VERSIONS, sizeof cv, cv, &size), CL_SUCCESS);
	CHECK(size == 3 * sizeof(cl_name_version) && cv[0].version == CL_MAKE_VERSION(1, 2, 0) &&
		      cv[1].version == CL_MAKE_VERSION(2, 0, 0) && cv[2].version == CL_MAKE_VERSION(3, 0, 0) &&
		      strcmp(cv[2].name, "OpenCL C") == 0,
	      "OpenCL C versions (%zu bytes)", size);
	size_t wg = 0, wis[3] = {0};
	CODE(clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL), CL_SUCCESS);
	CODE(clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof wis, wis, &size), CL_SUCCESS);
	CHECK(wg == 1024 && size == sizeof wis && wis[0] == wg, "work-group size %zu, item sizes %zu", wg, wis[0]);
	cl_uint ref = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 1, "root device reference count %u", ref);
	CODE(clRetainDevice(d), CL_SUCCESS);
	CODE(clReleaseDevice(d), CL_SUCCESS);
	CODE(clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, 4, &mem, NULL), CL_INVALID_VALUE);  // too small
	CODE(clGetDeviceInfo(d, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);             // no such name
	CODE(clGetDeviceInfo(d, CL_DEVICE_HALF_FP_CONFIG, sizeof buf, buf, NULL), CL_INVALID_VALUE); // no cl_khr_fp16
	cl_device_fp_config dfp = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dfp, &dfp, NULL), CL_SUCCESS);
	cl_device_fp_config fp64min = CL_FP_FMA | CL_FP_ROUND_TO_NEAREST | CL_FP_ROUND_TO_ZERO | CL_FP_ROUND_TO_INF |
				      CL_FP_INF_NAN | CL_FP_DENORM; // the spec's minimum for doubles
	CHECK((dfp & fp64min) == fp64min, "double fp config 0x%" PRIx64, (uint64_t)dfp);
	CODE(clGetDeviceInfo(d, CL_DEVICE_NAME, 0, NULL, &size), CL_SUCCESS);
	CHECK(size > 1, "name size %zu", size);
	struct forged fd = forge(d);
	CODE(clGetDeviceInfo((cl_device_id)&fd, CL_DEVICE_TYPE, sizeof type, &type, NULL), CL_INVALID_DEVICE);
	CODE(clGetDeviceInfo((cl_device_id)p, CL_DEVICE_TYPE, sizeof type, &type, NULL), CL_INVALID_DEVICE); // a platform
	CODE(clRetainDevice((cl_device_id)&fd), CL_INVALID_DEVICE);
	CODE(clReleaseDevice((cl_device_id)&fd), CL_INVALID_DEVICE);
	cl_device_partition_property part[] = {CL_DEVICE_PARTITION_EQUALLY, 1, 0};
	CODE(clCreateSubDevices(d, part, 2, ds, &nd), CL_INVALID_VALUE); // no partition scheme
	cl_ulong t;
	CODE(clGetHostTimer(d, &t), CL_INVALID_OPERATION); // no host timer
	CODE(clGetHostTimer((cl_device_id)&fd, &t), CL_INVALID_DEVICE);

	// ---- Context ----
	cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CHECK(c != NULL, "no context");
	if (!c)
		goto out;
	CODE(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 1, "reference count %u", ref);
	CODE(clRetainContext(c), CL_SUCCESS);
	CODE(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 2, "reference count %u after retain", ref);
	CODE(clReleaseContext(c), CL_SUCCESS);
	CODE(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 1, "reference count %u after release", ref);
	cl_uint ncd = 0;
	CODE(clGetContextInfo(c, CL_CONTEXT_NUM_DEVICES, sizeof ncd, &ncd, NULL), CL_SUCCESS);
	CHECK(ncd == 1, "%u devices", ncd);
	CODE(clGetContextInfo(c, CL_CONTEXT_DEVICES, sizeof ds, ds, &size), CL_SUCCESS);
	CHECK(size == sizeof(cl_device_id) && ds[0] == d, "context devices");
	CODE(clGetContextInfo(c, CL_CONTEXT_PROPERTIES, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(size == 0, "properties of a context created without any: %zu bytes", size);
	CODE(clGetContextInfo(c, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);
	CODE(clGetContextInfo(c, CL_CONTEXT_DEVICES, 1, buf, NULL), CL_INVALID_VALUE);
	struct forged fc = forge(c);
	CODE(clGetContextInfo((cl_context)&fc, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_INVALID_CONTEXT);
	CODE(clGetContextInfo((cl_context)d, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_INVALID_CONTEXT);
	CODE(clRetainContext((cl_context)&fc), CL_INVALID_CONTEXT);
	CODE(clReleaseContext((cl_context)&fc), CL_INVALID_CONTEXT);

	cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)p, 0};
	cl_context c2 = clCreateContext(props, 1, &d, notify, NULL, &err);
	CODE(err, CL_SUCCESS);
	cl_context_properties got[8];
	CODE(clGetContextInfo(c2, CL_CONTEXT_PROPERTIES, sizeof got, got, &size), CL_SUCCESS);
	CHECK(size == sizeof props && got[0] == CL_CONTEXT_PLATFORM && got[1] == (cl_context_properties)p && got[2] == 0,
	      "properties returned (%zu bytes)", size);
	CODE(clReleaseContext(c2), CL_SUCCESS);
	CODE(clGetContextInfo(c2, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_INVALID_CONTEXT); // released
	CODE(clReleaseContext(c2), CL_INVALID_CONTEXT);

	cl_device_id twice[] = {d, d};
	cl_context c3 = clCreateContext(NULL, 2, twice, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetContextInfo(c3, CL_CONTEXT_NUM_DEVICES, sizeof ncd, &ncd, NULL), CL_SUCCESS);
	CHECK(ncd == 1, "a device given twice counts once: %u", ncd);
	CODE(clReleaseContext(c3), CL_SUCCESS);

	cl_context_properties badprop[] = {0x7777, 1, 0};
	CHECK(clCreateContext(badprop, 1, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_PROPERTY, "err %d", err);
	cl_context_properties dupprop[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)p, CL_CONTEXT_PLATFORM,
					   (cl_context_properties)p, 0};
	CHECK(clCreateContext(dupprop, 1, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_PROPERTY, "err %d", err);
	cl_context_properties badplat[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)&fp, 0};
	CHECK(clCreateContext(badplat, 1, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_PLATFORM, "err %d", err);
	CHECK(clCreateContext(NULL, 0, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	cl_device_id withforged[] = {d, (cl_device_id)&fd};
	CHECK(clCreateContext(NULL, 2, withforged, NULL, NULL, &err) == NULL && err == CL_INVALID_DEVICE, "err %d", err);
	CHECK(clCreateContext(NULL, 1, &d, NULL, (void *)1, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateContextFromType(props, CL_DEVICE_TYPE_CPU, NULL, NULL, &err) == NULL && err == CL_DEVICE_NOT_FOUND,
	      "err %d", err);
	cl_context c4 = clCreateContextFromType(props, CL_DEVICE_TYPE_GPU, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetContextInfo(c4, CL_CONTEXT_DEVICES, sizeof ds, ds, &size), CL_SUCCESS);
	CHECK(size == sizeof(cl_device_id) && ds[0] == d, "devices of a context by type");

	// Destructor callbacks run last-registered first, when the context goes.
	CODE(clSetContextDestructorCallback(c4, destructor, (void *)1), CL_SUCCESS);
	CODE(clSetContextDestructorCallback(c4, destructor, (void *)2), CL_SUCCESS);
	CODE(clSetContextDestructorCallback(c4, NULL, NULL), CL_INVALID_VALUE);
	CODE(clSetContextDestructorCallback((cl_context)&fc, destructor, NULL), CL_INVALID_CONTEXT);
	cl_command_queue q4 = clCreateCommandQueueWithProperties(c4, d, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clReleaseContext(c4), CL_SUCCESS);
	CHECK(norder == 0, "the context went while a queue held it");
	cl_context qc = NULL;
	CODE(clGetCommandQueueInfo(q4, CL_QUEUE_CONTEXT, sizeof qc, &qc, NULL), CL_SUCCESS);
	CHECK(qc == c4, "queue's context");
	CODE(clReleaseCommandQueue(q4), CL_SUCCESS);
	CHECK(norder == 2 && order[0] == 2 && order[1] == 1, "destructors ran %d times, order %d %d", norder, order[0],
	      order[1]);
	CODE(clGetContextInfo(c4, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_INVALID_CONTEXT);

	// ---- Command-queues ----
	cl_command_queue q = clCreateCommandQueueWithProperties(c, d, NULL, &err);
	CODE(err, CL_SUCCESS);
	if (!q)
		goto out;
	cl_device_id qd = NULL;
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL), CL_SUCCESS);
	CHECK(qd == d, "queue's device");
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof qc, &qc, NULL), CL_SUCCESS);
	CHECK(qc == c, "queue's context");
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 1, "queue reference count %u", ref);
	CODE(clRetainCommandQueue(q), CL_SUCCESS);
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_SUCCESS);
	CHECK(ref == 2, "queue reference count %u after retain", ref);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	cl_command_queue_properties qp = 1;
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof qp, &qp, NULL), CL_SUCCESS);
	CHECK(qp == 0, "properties %#" PRIx64, (uint64_t)qp);
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(size == 0, "properties array of a queue created without: %zu bytes", size);
	cl_command_queue dq = (cl_command_queue)1;
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_DEVICE_DEFAULT, sizeof dq, &dq, NULL), CL_SUCCESS);
	CHECK(dq == NULL, "default device queue");
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_SIZE, sizeof ref, &ref, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clGetCommandQueueInfo(q, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);
	CODE(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, 2, buf, NULL), CL_INVALID_VALUE);
	CODE(clFlush(q), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	struct forged fq = forge(q);
	CODE(clGetCommandQueueInfo((cl_command_queue)&fq, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clGetCommandQueueInfo((cl_command_queue)c, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clFinish((cl_command_queue)&fq), CL_INVALID_COMMAND_QUEUE);
	CODE(clRetainCommandQueue((cl_command_queue)&fq), CL_INVALID_COMMAND_QUEUE);

	cl_queue_properties prof[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	cl_command_queue q2 = clCreateCommandQueueWithProperties(c, d, prof, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetCommandQueueInfo(q2, CL_QUEUE_PROPERTIES, sizeof qp, &qp, NULL), CL_SUCCESS);
	CHECK(qp == CL_QUEUE_PROFILING_ENABLE, "properties %#" PRIx64, (uint64_t)qp);
	cl_queue_properties gotq[8];
	CODE(clGetCommandQueueInfo(q2, CL_QUEUE_PROPERTIES_ARRAY, sizeof gotq, gotq, &size), CL_SUCCESS);
	CHECK(size == sizeof prof && gotq[0] == CL_QUEUE_PROPERTIES && gotq[1] == CL_QUEUE_PROFILING_ENABLE && gotq[2] == 0,
	      "properties array (%zu bytes)", size);
	CODE(clReleaseCommandQueue(q2), CL_SUCCESS);
	CODE(clGetCommandQueueInfo(q2, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL), CL_INVALID_COMMAND_QUEUE); // released
	CODE(clReleaseCommandQueue(q2), CL_INVALID_COMMAND_QUEUE);

	cl_queue_properties ooo[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, 0};
	CHECK(clCreateCommandQueueWithProperties(c, d, ooo, &err) == NULL && err == CL_INVALID_QUEUE_PROPERTIES, "err %d",
	      err);
	cl_queue_properties ondev[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_ON_DEVICE, 0};
	CHECK(clCreateCommandQueueWithProperties(c, d, ondev, &err) == NULL && err == CL_INVALID_QUEUE_PROPERTIES,
	      "err %d", err);
	cl_queue_properties sized[] = {CL_QUEUE_SIZE, 1024, 0};
	CHECK(clCreateCommandQueueWithProperties(c, d, sized, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	cl_queue_properties unknown[] = {0x7777, 0, 0};
	CHECK(clCreateCommandQueueWithProperties(c, d, unknown, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateCommandQueueWithProperties((cl_context)&fc, d, NULL, &err) == NULL && err == CL_INVALID_CONTEXT,
	      "err %d", err);
	CHECK(clCreateCommandQueueWithProperties(c, (cl_device_id)&fd, NULL, &err) == NULL && err == CL_INVALID_DEVICE,
	      "err %d", err);
	cl_command_queue q3 = clCreateCommandQueue(c, d, CL_QUEUE_PROFILING_ENABLE, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetCommandQueueInfo(q3, CL_QUEUE_PROPERTIES_ARRAY, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(size == 0, "properties array of a clCreateCommandQueue queue: %zu bytes", size);
	CODE(clReleaseCommandQueue(q3), CL_SUCCESS);
	CHECK(clCreateCommandQueue(c, d, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err) == NULL &&
		      err == CL_INVALID_QUEUE_PROPERTIES,
	      "err %d", err);
	CHECK(clCreateCommandQueue(c, d, (cl_command_queue_properties)1 << 40, &err) == NULL && err == CL_INVALID_VALUE,
	      "err %d", err);

	// ---- Forged handles: errors, no crash (buffers: buffers.c) ----
	struct forged fm = forge(c), fk = forge(c), fe = forge(c);
	cl_mem m = (cl_mem)&fm;
	cl_kernel k = (cl_kernel)&fk;
	cl_event e = (cl_event)&fe;
	CHECK(clCreateBuffer(c, CL_MEM_READ_WRITE, 0, NULL, &err) == NULL && err == CL_INVALID_BUFFER_SIZE, "err %d", err);
	CHECK(clCreateBuffer((cl_context)&fc, CL_MEM_READ_WRITE, 64, NULL, &err) == NULL && err == CL_INVALID_CONTEXT,
	      "err %d", err);
	const char *src = "__kernel void k(__global int *p) { p[0] = 1; }";
	CHECK(clCreateProgramWithSource(c, 0, &src, NULL, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateProgramWithSource((cl_context)&fc, 1, &src, NULL, &err) == NULL && err == CL_INVALID_CONTEXT,
	      "err %d", err);
	CHECK(clCreateProgramWithIL(c, src, 8, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	cl_image_format fmt = {CL_RGBA, CL_FLOAT};
	cl_image_desc desc = {.image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 4, .image_height = 4};
	CHECK(clCreateImage(c, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d",
	      err);
	cl_uint nfmt = 7;
	CODE(clGetSupportedImageFormats(c, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D, 0, NULL, &nfmt), CL_SUCCESS);
	CHECK(nfmt == 0, "%u image formats", nfmt);
	CHECK(clCreatePipe(c, CL_MEM_READ_WRITE, 4, 16, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	CHECK(clCreateSamplerWithProperties(c, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	CHECK(clCreateUserEvent((cl_context)&fc, &err) == NULL && err == CL_INVALID_CONTEXT, "err %d", err);
	CHECK(clSVMAlloc((cl_context)&fc, CL_MEM_READ_WRITE, 4096, 0) == NULL, "clSVMAlloc on a forged context");
	clSVMFree(c, NULL);
	int host[16] = {0}, host2[16];
	CODE(clEnqueueSVMMemcpy((cl_command_queue)&fq, CL_TRUE, host2, host, sizeof host, 0, NULL, NULL),
	     CL_INVALID_COMMAND_QUEUE);
	CODE(clReleaseMemObject(m), CL_INVALID_MEM_OBJECT);
	CODE(clRetainMemObject(m), CL_INVALID_MEM_OBJECT);
	CODE(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, 4, host, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueWriteBuffer((cl_command_queue)&fq, m, CL_TRUE, 0, 4, host, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	size_t gsz = 64;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gsz, NULL, 0, NULL, NULL), CL_INVALID_KERNEL);
	CODE(clSetKernelArg(k, 0, sizeof m, &m), CL_INVALID_KERNEL);
	CODE(clReleaseKernel(k), CL_INVALID_KERNEL);
	CODE(clWaitForEvents(1, &e), CL_INVALID_EVENT);
	CODE(clWaitForEvents(0, NULL), CL_INVALID_VALUE);
	CODE(clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof err, &err, NULL), CL_INVALID_EVENT);
	CODE(clReleaseEvent(e), CL_INVALID_EVENT);
	CODE(clEnqueueMarkerWithWaitList(q, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueMarkerWithWaitList(q, 1, &e, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueMigrateMemObjects(q, 0, NULL, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clSetDefaultDeviceCommandQueue(c, d, q), CL_INVALID_OPERATION);

	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(c), CL_SUCCESS);
	CODE(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof ref, &ref, NULL), CL_INVALID_CONTEXT);
	CODE(clFinish(q), CL_INVALID_COMMAND_QUEUE);

out:
	printf("queries: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
