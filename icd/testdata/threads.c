// threads.c: svmrt's ICD used from several host threads at once (link with
// -lOpenCL -lpthread, select the platform with OCL_ICD_VENDORS): each
// thread has its own queue and kernel object of a shared program, sets
// arguments and launches in a loop on malloc memory of its own, with
// events, callbacks and a cross-queue wait on another thread's user event;
// one thread releases events while their commands still run; a context
// notification callback says why a command failed, if one does.
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"
#include <pthread.h>

enum { THREADS = 4, ROUNDS = 40, N = 1024 };

static const char *src = "__kernel void add(__global int *p, int v) { p[get_global_id(0)] += v; }\n";

static cl_context ctx;
static cl_device_id dev;
static cl_program prog;
static cl_event gate; // a user event every thread's first launch waits for
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int completions, bad_status;

static void CL_CALLBACK on_complete(cl_event e, cl_int status, void *user_data) {
	pthread_mutex_lock(&mu);
	if (status == CL_COMPLETE)
		completions++;
	else
		bad_status = status;
	pthread_mutex_unlock(&mu);
}

struct result {
	int wrong, codes;
};

static void *worker(void *arg) {
	struct result *r = arg;
	cl_int err;
	cl_command_queue q = clCreateCommandQueueWithProperties(ctx, dev, NULL, &err);
	cl_kernel k = clCreateKernel(prog, "add", &err);
	// Whole pages of its own: a page the device works on that the host
	// writes meanwhile (here: malloc's bookkeeping next to a calloc'd
	// block, touched by allocations in this thread while the kernel runs)
	// can bounce until the launch fails (see the package doc).
	int *data = aligned_alloc(4096, N * sizeof(int));
	if (data)
		memset(data, 0, N * sizeof(int));
	if (!q || !k || !data) {
		r->codes++;
		return NULL;
	}
	size_t gs = N;
	int sum = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int v = i + 1;
		sum += v;
		r->codes += clSetKernelArgSVMPointer(k, 0, data) != CL_SUCCESS;
		r->codes += clSetKernelArg(k, 1, sizeof v, &v) != CL_SUCCESS;
		cl_event ev;
		r->codes += clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, i == 0 ? 1 : 0, i == 0 ? &gate : NULL,
						   &ev) != CL_SUCCESS;
		r->codes += clSetEventCallback(ev, CL_COMPLETE, on_complete, NULL) != CL_SUCCESS;
		if (i % 2)
			r->codes += clWaitForEvents(1, &ev) != CL_SUCCESS;
		r->codes += clReleaseEvent(ev) != CL_SUCCESS; // even events not waited for
	}
	r->codes += clFinish(q) != CL_SUCCESS;
	for (int i = 0; i < N; i++)
		r->wrong += data[i] != sum;
	clReleaseKernel(k);
	clReleaseCommandQueue(q);
	free(data);
	return NULL;
}

static void CL_CALLBACK notify(const char *errinfo, const void *private_info, size_t cb, void *user_data) {
	printf("context notification: %s\n", errinfo);
}

int main(void) {
	cl_platform_id p;
	cl_command_queue q;
	cl_int err;
	if (!setup(&p, &dev, &ctx, &q))
		goto out;
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	// A context with a notification callback, which says why a command
	// failed.
	ctx = clCreateContext(NULL, 1, &dev, notify, NULL, &err);
	CODE(err, CL_SUCCESS);
	q = clCreateCommandQueueWithProperties(ctx, dev, NULL, &err);
	CODE(err, CL_SUCCESS);
	prog = build(ctx, dev, src, NULL);
	if (!prog)
		goto out;
	gate = clCreateUserEvent(ctx, &err);
	CODE(err, CL_SUCCESS);
	pthread_t t[THREADS];
	struct result r[THREADS] = {{0}};
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &r[i]);
	CODE(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK(r[i].codes == 0 && r[i].wrong == 0, "thread %d: %d failed calls, %d wrong results", i, r[i].codes,
		      r[i].wrong);
	}
	CHECK(completions == THREADS * ROUNDS, "%d completion callbacks, want %d (a status %d)", completions,
	      THREADS * ROUNDS, bad_status);
	CODE(clReleaseEvent(gate), CL_SUCCESS);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(ctx), CL_SUCCESS);

out:
	printf("threads: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
