// common.h: what the test host programs share — the CHECK and CODE macros
// (count every check, print every failure), and the platform, device,
// context and queue setup through the ICD loader.
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failed;

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		checks++;                                                                                              \
		if (!(cond)) {                                                                                         \
			failed++;                                                                                      \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                         \
			printf(__VA_ARGS__);                                                                           \
			printf("\n");                                                                                  \
		}                                                                                                      \
	} while (0)

#define CODE(call, want)                                                                                               \
	do {                                                                                                           \
		cl_int _got = (call);                                                                                  \
		CHECK(_got == (want), "%s returned %d, want %d (%s)", #call, _got, (want), #want);                     \
	} while (0)

// A forged handle: a struct whose first word is svmrt's dispatch table, as
// any of its objects has, but which the ICD never handed out. The loader
// passes it on; the ICD must refuse it without reading it.
struct forged {
	void *dispatch;
	char junk[64];
};

static __attribute__((unused)) struct forged forge(void *real) {
	struct forged f;
	memset(&f, 0xa5, sizeof f);
	f.dispatch = *(void **)real;
	return f;
}

// setup finds svmrt's platform and device and makes a context and a
// profiling queue; 0 when it cannot.
static __attribute__((unused)) int setup(cl_platform_id *p, cl_device_id *d, cl_context *c, cl_command_queue *q) {
	cl_uint np = 0;
	cl_int err;
	CODE(clGetPlatformIDs(1, p, &np), CL_SUCCESS);
	CHECK(np == 1, "%u platforms (is OCL_ICD_VENDORS set to svmrt's ICD alone?)", np);
	if (np != 1)
		return 0;
	CODE(clGetDeviceIDs(*p, CL_DEVICE_TYPE_GPU, 1, d, NULL), CL_SUCCESS);
	*c = clCreateContext(NULL, 1, d, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	if (!*c)
		return 0;
	cl_queue_properties prof[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	*q = clCreateCommandQueueWithProperties(*c, *d, prof, &err);
	CODE(err, CL_SUCCESS);
	return *q != NULL;
}

// build makes and builds a program from src; NULL (and the log printed)
// when it fails.
static __attribute__((unused)) cl_program build(cl_context c, cl_device_id d, const char *src, const char *options) {
	cl_int err;
	cl_program prog = clCreateProgramWithSource(c, 1, &src, NULL, &err);
	CODE(err, CL_SUCCESS);
	if (!prog)
		return NULL;
	err = clBuildProgram(prog, 1, &d, options, NULL, NULL);
	CODE(err, CL_SUCCESS);
	if (err != CL_SUCCESS) {
		char log[8192] = "";
		clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
		printf("build log:\n%s\n", log);
		clReleaseProgram(prog);
		return NULL;
	}
	return prog;
}
