// badinput.c: bad input to svmrt's programs, kernels, launches, events and
// SVM calls through the ICD loader (link with -lOpenCL, select the platform
// with OCL_ICD_VENDORS): NULL, forged, wrong-kind and released handles,
// wrong sizes and names, and kernels that dereference a PROT_NONE or NULL
// pointer. Every call must return the spec's code, a faulting kernel's
// event must end with a negative status, and the process must survive and
// keep working.
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"
#include <sys/mman.h>

static const char *src = "__kernel void store(__global int *p, int v) { p[get_global_id(0)] = v; }\n"
			 "__kernel void chase(__global int *__global *pp) { *pp[0] = 1; }\n";

static char note[1024];
static void CL_CALLBACK notify(const char *errinfo, const void *private_info, size_t cb, void *user_data) {
	snprintf(note, sizeof note, "%s", errinfo);
}

static int destroyed;
static void CL_CALLBACK on_destroy(cl_context c, void *user_data) { destroyed++; }

static cl_int seen_status = 1;
static void CL_CALLBACK on_done(cl_event e, cl_int status, void *user_data) { seen_status = status; }

int main(void) {
	cl_platform_id p;
	cl_device_id d;
	cl_context c;
	cl_command_queue q;
	cl_int err;
	char buf[1024];
	cl_uint u;
	if (!setup(&p, &d, &c, &q))
		goto out;
	cl_program prog = build(c, d, src, NULL);
	if (!prog)
		goto out;
	cl_kernel k = clCreateKernel(prog, "store", &err);
	CODE(err, CL_SUCCESS);
	struct forged fp = forge(prog), fk = forge(k), fq = forge(q), fc = forge(c);

	// ---- Programs ----
	const char *nul = NULL;
	CHECK(clCreateProgramWithSource(c, 1, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateProgramWithSource(c, 1, &nul, NULL, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateProgramWithSource((cl_context)q, 1, &src, NULL, &err) == NULL && err == CL_INVALID_CONTEXT, "err %d",
	      err);
	CODE(clBuildProgram((cl_program)&fp, 0, NULL, NULL, NULL, NULL), CL_INVALID_PROGRAM);
	CODE(clBuildProgram((cl_program)k, 0, NULL, NULL, NULL, NULL), CL_INVALID_PROGRAM); // a kernel
	cl_device_id fd = (cl_device_id)&fk;
	CODE(clBuildProgram(prog, 1, &fd, NULL, NULL, NULL), CL_INVALID_DEVICE);
	CODE(clGetProgramInfo((cl_program)&fp, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_PROGRAM);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, 3, buf, NULL), CL_INVALID_VALUE); // too small
	CODE(clGetProgramInfo(prog, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);
	CODE(clGetProgramBuildInfo((cl_program)&fp, d, CL_PROGRAM_BUILD_STATUS, sizeof u, &u, NULL), CL_INVALID_PROGRAM);
	CODE(clGetProgramBuildInfo(prog, fd, CL_PROGRAM_BUILD_STATUS, sizeof u, &u, NULL), CL_INVALID_DEVICE);
	CODE(clRetainProgram((cl_program)&fp), CL_INVALID_PROGRAM);
	CODE(clReleaseProgram((cl_program)&fp), CL_INVALID_PROGRAM);
	CODE(clCompileProgram((cl_program)&fp, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL), CL_INVALID_PROGRAM);
	CHECK(clLinkProgram(c, 0, NULL, NULL, 1, &prog, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d",
	      err); // an executable, not a compiled object
	cl_program fpp = (cl_program)&fp;
	CHECK(clLinkProgram(c, 0, NULL, NULL, 1, &fpp, NULL, NULL, &err) == NULL && err == CL_INVALID_PROGRAM, "err %d",
	      err);
	const unsigned char *bin = (const unsigned char *)"x";
	size_t blen = 1;
	cl_int bst;
	CHECK(clCreateProgramWithBinary(c, 1, &d, &blen, &bin, &bst, &err) == NULL && err == CL_INVALID_BINARY &&
		      bst == CL_INVALID_BINARY,
	      "err %d, status %d", err, bst);
	blen = 0;
	CHECK(clCreateProgramWithBinary(c, 1, &d, &blen, &bin, &bst, &err) == NULL && err == CL_INVALID_VALUE, "err %d",
	      err);
	CHECK(clCreateProgramWithBinary(c, 1, &fd, &blen, &bin, &bst, &err) == NULL && err == CL_INVALID_DEVICE, "err %d",
	      err);
	// A program that uses what the device lacks: a build failure that
	// says what.
	const char *img = "__kernel void k(read_only image2d_t i, __global float *o) { o[0] = 0; }\n";
	cl_program ip = clCreateProgramWithSource(c, 1, &img, NULL, &err);
	CODE(clBuildProgram(ip, 0, NULL, NULL, NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	CODE(clGetProgramBuildInfo(ip, d, CL_PROGRAM_BUILD_LOG, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strstr(buf, "image") != NULL, "log %s", buf);
	CODE(clReleaseProgram(ip), CL_SUCCESS);
	CODE(clBuildProgram(ip, 0, NULL, NULL, NULL, NULL), CL_INVALID_PROGRAM); // released

	// ---- Kernels ----
	CHECK(clCreateKernel((cl_program)&fp, "store", &err) == NULL && err == CL_INVALID_PROGRAM, "err %d", err);
	CHECK(clCreateKernel(prog, "Store", &err) == NULL && err == CL_INVALID_KERNEL_NAME, "err %d", err);
	CHECK(clCreateKernel(prog, "", &err) == NULL && err == CL_INVALID_KERNEL_NAME, "err %d", err);
	CHECK(clCloneKernel((cl_kernel)&fk, &err) == NULL && err == CL_INVALID_KERNEL, "err %d", err);
	CODE(clCreateKernelsInProgram((cl_program)&fp, 0, NULL, &u), CL_INVALID_PROGRAM);
	CODE(clSetKernelArg((cl_kernel)&fk, 0, sizeof(int), &u), CL_INVALID_KERNEL);
	CODE(clSetKernelArg((cl_kernel)prog, 0, sizeof(int), &u), CL_INVALID_KERNEL); // a program
	CODE(clSetKernelArgSVMPointer((cl_kernel)&fk, 0, buf), CL_INVALID_KERNEL);
	CODE(clSetKernelArg(k, 0, 4, NULL), CL_INVALID_ARG_SIZE); // a pointer is 8 bytes
	void *fm = &fc;
	CODE(clSetKernelArg(k, 0, sizeof fm, &fm), CL_INVALID_MEM_OBJECT); // not a memory object
	cl_short sh = 1;
	CODE(clSetKernelArg(k, 1, sizeof sh, &sh), CL_INVALID_ARG_SIZE);
	CODE(clSetKernelArg(k, 2, sizeof u, &u), CL_INVALID_ARG_INDEX);
	CODE(clSetKernelArg(k, (cl_uint)-1, sizeof u, &u), CL_INVALID_ARG_INDEX);
	CODE(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, 3, buf), CL_INVALID_VALUE);
	CODE(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, 8, NULL), CL_INVALID_VALUE);
	CODE(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof u, NULL), CL_INVALID_VALUE);
	CODE(clGetKernelInfo((cl_kernel)&fk, CL_KERNEL_NUM_ARGS, sizeof u, &u, NULL), CL_INVALID_KERNEL);
	CODE(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, 2, buf, NULL), CL_INVALID_VALUE);
	CODE(clGetKernelInfo(k, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);
	CODE(clGetKernelArgInfo(k, 9, CL_KERNEL_ARG_NAME, sizeof buf, buf, NULL), CL_INVALID_ARG_INDEX);
	CODE(clGetKernelArgInfo(k, 0, 0x7777, sizeof buf, buf, NULL), CL_INVALID_VALUE);
	size_t wg;
	CODE(clGetKernelWorkGroupInfo(k, fd, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL), CL_INVALID_DEVICE);
	CODE(clGetKernelWorkGroupInfo(k, d, CL_KERNEL_WORK_GROUP_SIZE, 4, &wg, NULL), CL_INVALID_VALUE);
	CODE(clGetKernelSubGroupInfo(k, d, CL_KERNEL_MAX_NUM_SUB_GROUPS, 0, NULL, sizeof wg, &wg, NULL),
	     CL_INVALID_OPERATION);

	// ---- Launches ----
	size_t gs = 64;
	int v = 3;
	CODE(clSetKernelArg(k, 1, sizeof v, &v), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_KERNEL_ARGS); // p unset
	CODE(clEnqueueNDRangeKernel((cl_command_queue)&fq, k, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clEnqueueNDRangeKernel(q, (cl_kernel)&fk, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_KERNEL);
	CODE(clEnqueueTask((cl_command_queue)c, k, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	int *good = calloc(64, sizeof(int));
	CODE(clSetKernelArgSVMPointer(k, 0, good), CL_SUCCESS);
	cl_event fe_ = (cl_event)&fk;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 1, &fe_, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, &fe_, NULL), CL_INVALID_EVENT_WAIT_LIST);
	size_t huge = (size_t)1 << 40;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &huge, NULL, 0, NULL, NULL), CL_INVALID_GLOBAL_WORK_SIZE);
	size_t l2[2] = {64, 32}, g2[2] = {64, 32};
	CODE(clEnqueueNDRangeKernel(q, k, 2, NULL, g2, l2, 0, NULL, NULL), CL_INVALID_WORK_GROUP_SIZE); // 2048 items
	size_t zero = 0;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &zero, NULL, 0, NULL, NULL), CL_SUCCESS); // nothing to do
	// A NULL global size too (OpenCL 2.1 deprecated the error): its event
	// completes, nothing runs.
	cl_event nev;
	good[0] = -5;
	CODE(clEnqueueNDRangeKernel(q, k, 3, NULL, NULL, NULL, 0, NULL, &nev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &nev), CL_SUCCESS);
	cl_int nst = -1;
	CODE(clGetEventInfo(nev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof nst, &nst, NULL), CL_SUCCESS);
	CHECK(nst == CL_COMPLETE && good[0] == -5, "status %d, good[0] %d", nst, good[0]);
	CODE(clReleaseEvent(nev), CL_SUCCESS);
	// A queue of another context, and an event of another context.
	cl_context c2 = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	cl_command_queue q2 = clCreateCommandQueueWithProperties(c2, d, NULL, &err);
	CODE(clEnqueueNDRangeKernel(q2, k, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_CONTEXT);
	cl_event other = clCreateUserEvent(c2, &err);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 1, &other, NULL), CL_INVALID_CONTEXT);
	cl_event mine = clCreateUserEvent(c, &err);
	cl_event both[] = {mine, other};
	CODE(clWaitForEvents(2, both), CL_INVALID_CONTEXT);
	CODE(clSetUserEventStatus(mine, CL_COMPLETE), CL_SUCCESS);
	CODE(clSetUserEventStatus(other, CL_COMPLETE), CL_SUCCESS);
	CODE(clReleaseEvent(mine), CL_SUCCESS);
	CODE(clReleaseEvent(other), CL_SUCCESS);
	CODE(clReleaseEvent(mine), CL_INVALID_EVENT); // released
	CODE(clGetEventInfo(mine, CL_EVENT_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_EVENT);
	CODE(clSetEventCallback(mine, CL_COMPLETE, on_done, NULL), CL_INVALID_EVENT);
	CODE(clGetEventProfilingInfo(mine, CL_PROFILING_COMMAND_END, sizeof wg, &wg, NULL), CL_INVALID_EVENT);
	CODE(clSetUserEventStatus((cl_event)&fk, CL_COMPLETE), CL_INVALID_EVENT);
	CHECK(clCreateUserEvent((cl_context)&fc, &err) == NULL && err == CL_INVALID_CONTEXT, "err %d", err);
	CODE(clReleaseCommandQueue(q2), CL_SUCCESS);
	CODE(clReleaseContext(c2), CL_SUCCESS);

	// An event released while its command waits: the handle is gone, the
	// command still runs.
	cl_event gate = clCreateUserEvent(c, &err), pending;
	good[0] = 0;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 1, &gate, &pending), CL_SUCCESS);
	CODE(clReleaseEvent(pending), CL_SUCCESS);
	CODE(clGetEventInfo(pending, CL_EVENT_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_EVENT);
	CODE(clRetainEvent(pending), CL_INVALID_EVENT);
	CODE(clReleaseEvent(pending), CL_INVALID_EVENT);
	CODE(clWaitForEvents(1, &pending), CL_INVALID_EVENT);
	CODE(clEnqueueWaitForEvents(q, 1, &pending), CL_INVALID_EVENT);
	CODE(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(good[0] == 3, "the command of a released event: good[0] = %d", good[0]);
	CODE(clReleaseEvent(gate), CL_SUCCESS);

	// Profiling on a queue without CL_QUEUE_PROFILING_ENABLE.
	cl_command_queue np = clCreateCommandQueueWithProperties(c, d, NULL, &err);
	cl_event ev;
	CODE(clEnqueueNDRangeKernel(np, k, 1, NULL, &gs, NULL, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	cl_ulong t;
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL), CL_PROFILING_INFO_NOT_AVAILABLE);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	// Profiling turned on later counts for the commands enqueued after.
	CODE(clSetCommandQueueProperty(np, CL_QUEUE_PROFILING_ENABLE, CL_TRUE, NULL), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(np, k, 1, NULL, &gs, NULL, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL), CL_SUCCESS);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CODE(clReleaseCommandQueue(np), CL_SUCCESS);
	CHECK(good[63] == 3, "good[63] = %d", good[63]);

	// ---- Kernels that fault: a negative status, and the process goes on ----
	// Memory the process may not touch: a PROT_NONE reservation (an
	// unmapped hole could be reused by the next mmap of any thread).
	void *hole = mmap(NULL, 1 << 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hole != MAP_FAILED, "mmap");
	CODE(clSetKernelArgSVMPointer(k, 0, hole), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, NULL, &ev), CL_SUCCESS);
	CODE(clSetEventCallback(ev, CL_COMPLETE, on_done, NULL), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	cl_int st = 0;
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_OUT_OF_RESOURCES, "status of a kernel storing to PROT_NONE memory: %d", st);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(seen_status == CL_OUT_OF_RESOURCES, "callback status %d", seen_status);
	// A command waiting for the failed one fails too.
	cl_event after;
	CODE(clEnqueueMarkerWithWaitList(q, 1, &ev, &after), CL_SUCCESS);
	CODE(clWaitForEvents(1, &after), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	CODE(clReleaseEvent(after), CL_SUCCESS);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	// NULL, and a pointer loaded from memory that points nowhere.
	CODE(clSetKernelArgSVMPointer(k, 0, NULL), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_OUT_OF_RESOURCES, "status of a kernel storing through NULL: %d", st);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	cl_kernel chase = clCreateKernel(prog, "chase", &err);
	CODE(err, CL_SUCCESS);
	int **pp = malloc(sizeof *pp);
	*pp = hole;
	CODE(clSetKernelArgSVMPointer(chase, 0, pp), CL_SUCCESS);
	CODE(clEnqueueTask(q, chase, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_OUT_OF_RESOURCES, "status of a kernel following a dangling pointer: %d", st);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	// A copy from the hole fails the same way.
	CODE(clEnqueueSVMMemcpy(q, CL_TRUE, good, hole, 64, 0, NULL, NULL), CL_OUT_OF_RESOURCES);
	// A context with a notification callback hears why.
	cl_context cn = clCreateContext(NULL, 1, &d, notify, NULL, &err);
	cl_command_queue qn = clCreateCommandQueueWithProperties(cn, d, NULL, &err);
	cl_program pn = build(cn, d, src, NULL);
	cl_kernel kn = clCreateKernel(pn, "store", &err);
	CODE(clSetKernelArgSVMPointer(kn, 0, hole), CL_SUCCESS);
	CODE(clSetKernelArg(kn, 1, sizeof v, &v), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(qn, kn, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(qn), CL_SUCCESS);
	char want[64];
	snprintf(want, sizeof want, "%p", hole);
	CHECK(strstr(note, "device fault") != NULL && strstr(note, want) != NULL, "notification %s", note);
	printf("notification of a faulting kernel: %s\n", note);
	clReleaseKernel(kn);
	clReleaseProgram(pn);
	clReleaseCommandQueue(qn);
	clReleaseContext(cn);
	// The device still works.
	memset(good, 0, 64 * sizeof(int));
	v = 77;
	CODE(clSetKernelArgSVMPointer(k, 0, good), CL_SUCCESS);
	CODE(clSetKernelArg(k, 1, sizeof v, &v), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(good[0] == 77 && good[63] == 77, "after the faults: %d %d", good[0], good[63]);

	// ---- SVM ----
	CODE(clEnqueueSVMMemcpy((cl_command_queue)&fq, CL_TRUE, good, good + 32, 8, 0, NULL, NULL),
	     CL_INVALID_COMMAND_QUEUE);
	CODE(clEnqueueSVMMemFill(q, good, &v, sizeof v, 8, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueSVMMap(q, CL_TRUE, 1 << 9, good, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueSVMUnmap(q, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK(clSVMAlloc((cl_context)q, CL_MEM_READ_WRITE, 64, 0) == NULL, "clSVMAlloc on a queue");
	clSVMFree((cl_context)&fc, good); // ignored: a forged context
	clSVMFree(c, good);               // ignored: not clSVMAlloc's

	// ---- A context lives while its program, kernel and user event do ----
	cl_context cl = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	CODE(clSetContextDestructorCallback(cl, on_destroy, NULL), CL_SUCCESS);
	cl_program lp = build(cl, d, src, NULL);
	cl_kernel lk = clCreateKernel(lp, "store", &err);
	cl_event lue = clCreateUserEvent(cl, &err);
	CODE(clReleaseContext(cl), CL_SUCCESS);
	CODE(clReleaseProgram(lp), CL_SUCCESS);
	cl_context kc = NULL;
	CODE(clGetKernelInfo(lk, CL_KERNEL_CONTEXT, sizeof kc, &kc, NULL), CL_SUCCESS);
	CHECK(kc == cl, "kernel context");
	cl_program kp = NULL;
	CODE(clGetKernelInfo(lk, CL_KERNEL_PROGRAM, sizeof kp, &kp, NULL), CL_SUCCESS);
	CHECK(kp == lp, "kernel program");
	CODE(clGetProgramInfo(lp, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS); // held by its kernel
	CHECK(u == 0, "program reference count %u", u);
	CODE(clReleaseKernel(lk), CL_SUCCESS);
	CODE(clGetProgramInfo(lp, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_PROGRAM);
	CHECK(destroyed == 0, "the context went while a user event held it");
	CODE(clSetUserEventStatus(lue, CL_COMPLETE), CL_SUCCESS); // an event goes once released and complete
	CHECK(destroyed == 0, "the context went while a user event held it");
	CODE(clReleaseEvent(lue), CL_SUCCESS);
	CHECK(destroyed == 1, "destructor called %d times", destroyed);
	CODE(clGetContextInfo(cl, CL_CONTEXT_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_CONTEXT);

	// ---- Released objects ----
	CODE(clReleaseKernel(chase), CL_SUCCESS);
	CODE(clReleaseKernel(k), CL_SUCCESS);
	CODE(clSetKernelArg(k, 1, sizeof v, &v), CL_INVALID_KERNEL);
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_KERNEL);
	CODE(clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof u, &u, NULL), CL_INVALID_KERNEL);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CHECK(clCreateKernel(prog, "store", &err) == NULL && err == CL_INVALID_PROGRAM, "err %d", err);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clEnqueueTask(q, k, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clReleaseContext(c), CL_SUCCESS);
	free(good);
	free(pp);
	munmap(hole, 1 << 16);

out:
	printf("badinput: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
