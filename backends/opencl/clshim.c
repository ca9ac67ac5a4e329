// clshim.c: run-time binding of the OpenCL entry points svmrt uses.
#define _GNU_SOURCE // dladdr
#include "clshim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Signal handlers. Loading PoCL (at the first clGetPlatformIDs) and its
// LLVM installs crash handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGINT,
// SIGTERM, ... (libLLVM's, SA_RESETHAND). They replace the Go runtime's:
// Go's own fault handling (debug.SetPanicOnFault, which the cpu backend
// relies on) then goes through a handler that resets the disposition to
// SIG_DFL first, and a second thread faulting in that window kills the
// process. Every call that may initialise the implementation or its
// compiler runs between guard_enter and guard_leave, which puts back the
// dispositions such a call changed (see guard_leave for which).
//
// Guarded calls may run concurrently (two programs building at once): the
// first to enter saves the dispositions, the last to leave restores them,
// under guard_mu. A thread entering while another's call is in progress
// does not save (it would save LLVM's handlers as "the original").
//
// What remains: while a guarded call runs (about 35 ms for PoCL's first
// clGetDeviceIDs, which loads LLVM; then each build), LLVM's handlers are
// installed. A fault in that window reaches LLVM's handler, which resets
// the signal to the previous (Go's) handler and re-raises, so a single
// fault is still Go's; but two threads faulting within microseconds of
// each other can find the disposition reset to SIG_DFL by LLVM's
// SA_RESETHAND and kill the process. The runtime narrows the window by
// enumerating devices once, early (runtime.Open and DeviceNames).
#define NSIG_GUARDED 65

static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;
static int guard_depth;                       // guarded calls in progress
static struct sigaction guard_saved[NSIG_GUARDED]; // valid while guard_depth > 0
static int guard_valid[NSIG_GUARDED];
static int restored_total;

static void guard_enter(void) {
	pthread_mutex_lock(&guard_mu);
	if (guard_depth++ == 0)
		for (int sig = 1; sig < NSIG_GUARDED; sig++)
			guard_valid[sig] = sigaction(sig, NULL, &guard_saved[sig]) == 0;
	pthread_mutex_unlock(&guard_mu);
}

static int same_action(const struct sigaction *a, const struct sigaction *b) {
	return a->sa_sigaction == b->sa_sigaction && a->sa_flags == b->sa_flags &&
	       memcmp(&a->sa_mask, &b->sa_mask, sizeof a->sa_mask) == 0;
}

// foreign_handler reports whether act's handler is a function of a shared
// object other than the one this shim is linked into (the Go binary, whose
// runtime owns the program's handlers): libLLVM's or libpocl's, say. A
// handler dladdr cannot place in any object is foreign too.
static int foreign_handler(const struct sigaction *act) {
	void *h = (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction : (void *)act->sa_handler;
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN)
		return 0;
	Dl_info self, info;
	if (!dladdr((void *)&foreign_handler, &self))
		return 1;
	if (!dladdr(h, &info))
		return 1;
	return info.dli_fbase != self.dli_fbase;
}

// guard_leave puts back a disposition that changed during the guarded calls
// only when the change cannot be the program's own. Other goroutines may
// change dispositions while a build runs for seconds (signal.Ignore,
// Notify, Reset); those must stay. The rule:
//   - the handler now is a function in another shared object than the Go
//     binary (LLVM's crash handler in libLLVM): restore. The program's own
//     handlers (Go's signal package) live in the binary.
//   - the handler is the saved one but its flags or mask changed: restore.
//     Go installs its handler with fixed flags and mask, so the program's
//     signal package never changes only those.
//   - anything else (SIG_IGN, SIG_DFL, or a handler of the Go binary that
//     differs from the saved one): the program's change; keep it.
// A program that installs C handlers from another shared object during a
// guarded call (or links svmrt into a shared library) would see them
// replaced: a limit of telling the two apart from outside.
static void guard_leave(void) {
	pthread_mutex_lock(&guard_mu);
	if (--guard_depth == 0) {
		for (int sig = 1; sig < NSIG_GUARDED; sig++) {
			struct sigaction now;
			if (!guard_valid[sig] || sigaction(sig, NULL, &now) != 0)
				continue;
			if (same_action(&now, &guard_saved[sig]))
				continue;
			if (now.sa_sigaction == guard_saved[sig].sa_sigaction || foreign_handler(&now)) {
				sigaction(sig, &guard_saved[sig], NULL);
				__atomic_add_fetch(&restored_total, 1, __ATOMIC_RELAXED);
			}
		}
	}
	pthread_mutex_unlock(&guard_mu);
}

void clshim_guard_enter(void) { guard_enter(); }
void clshim_guard_leave(void) { guard_leave(); }

int clshim_signals_restored(void) { return __atomic_load_n(&restored_total, __ATOMIC_RELAXED); }

// One function-pointer type per entry point, from the specification's
// prototypes (callbacks we never pass are declared as void *).
typedef cl_int (*fn_get_platform_ids)(cl_uint, cl_platform_id *, cl_uint *);
typedef cl_int (*fn_get_device_ids)(cl_platform_id, cl_bitfield, cl_uint, cl_device_id *, cl_uint *);
typedef cl_int (*fn_get_platform_info)(cl_platform_id, cl_uint, size_t, void *, size_t *);
typedef cl_int (*fn_get_device_info)(cl_device_id, cl_uint, size_t, void *, size_t *);
typedef cl_context (*fn_create_context)(const intptr_t *, cl_uint, const cl_device_id *, void *, void *, cl_int *);
typedef cl_int (*fn_release)(void *);
typedef cl_command_queue (*fn_create_queue_props)(cl_context, cl_device_id, const cl_ulong *, cl_int *);
typedef cl_command_queue (*fn_create_queue)(cl_context, cl_device_id, cl_bitfield, cl_int *);
typedef cl_int (*fn_queue_op)(cl_command_queue);
typedef cl_program (*fn_create_program)(cl_context, cl_uint, const char **, const size_t *, cl_int *);
typedef cl_int (*fn_build_program)(cl_program, cl_uint, const cl_device_id *, const char *, void *, void *);
typedef cl_int (*fn_build_info)(cl_program, cl_device_id, cl_uint, size_t, void *, size_t *);
typedef cl_kernel (*fn_create_kernel)(cl_program, const char *, cl_int *);
typedef cl_int (*fn_kernel_info)(cl_kernel, cl_uint, size_t, void *, size_t *);
typedef cl_int (*fn_kernel_arg_info)(cl_kernel, cl_uint, cl_uint, size_t, void *, size_t *);
typedef cl_int (*fn_kernel_wg_info)(cl_kernel, cl_device_id, cl_uint, size_t, void *, size_t *);
typedef cl_int (*fn_set_arg)(cl_kernel, cl_uint, size_t, const void *);
typedef cl_int (*fn_set_arg_svm)(cl_kernel, cl_uint, const void *);
typedef cl_int (*fn_exec_info)(cl_kernel, cl_uint, size_t, const void *);
typedef cl_int (*fn_ndrange)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint, const cl_event *, cl_event *);
typedef void *(*fn_svm_alloc)(cl_context, cl_bitfield, size_t, cl_uint);
typedef void (*fn_svm_free)(cl_context, void *);
typedef cl_int (*fn_svm_memcpy)(cl_command_queue, cl_uint, void *, const void *, size_t, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_svm_memfill)(cl_command_queue, void *, const void *, size_t, size_t, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_svm_map)(cl_command_queue, cl_uint, cl_bitfield, void *, size_t, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_svm_unmap)(cl_command_queue, void *, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_svm_migrate)(cl_command_queue, cl_uint, const void **, const size_t *, cl_bitfield, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_marker)(cl_command_queue, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fn_wait_events)(cl_uint, const cl_event *);
typedef cl_int (*fn_event_info)(cl_event, cl_uint, size_t, void *, size_t *);

// The resolved entry points. Written once by clshim_load (the Go side calls
// it under a sync.Once before anything else), read-only afterwards.
static struct {
	fn_get_platform_ids get_platform_ids;
	fn_get_device_ids get_device_ids;
	fn_get_platform_info get_platform_info;
	fn_get_device_info get_device_info;
	fn_create_context create_context;
	fn_release release_context;
	fn_create_queue_props create_queue_props;
	fn_create_queue create_queue;
	fn_release release_queue;
	fn_queue_op flush, finish;
	fn_create_program create_program;
	fn_build_program build_program;
	fn_build_info build_info;
	fn_release release_program;
	fn_create_kernel create_kernel;
	fn_release release_kernel;
	fn_kernel_info kernel_info;
	fn_kernel_arg_info kernel_arg_info;
	fn_kernel_wg_info kernel_wg_info;
	fn_set_arg set_arg;
	fn_set_arg_svm set_arg_svm;
	fn_exec_info exec_info;
	fn_ndrange ndrange;
	fn_svm_alloc svm_alloc;
	fn_svm_free svm_free;
	fn_svm_memcpy svm_memcpy;
	fn_svm_memfill svm_memfill;
	fn_svm_map svm_map;
	fn_svm_unmap svm_unmap;
	fn_svm_migrate svm_migrate;
	fn_marker marker;
	fn_wait_events wait_events;
	fn_event_info event_info;
	fn_release release_event;
} cl;

static const struct {
	const char *name;
	void **slot;
} entries[] = {
	{"clGetPlatformIDs", (void **)&cl.get_platform_ids},
	{"clGetDeviceIDs", (void **)&cl.get_device_ids},
	{"clGetPlatformInfo", (void **)&cl.get_platform_info},
	{"clGetDeviceInfo", (void **)&cl.get_device_info},
	{"clCreateContext", (void **)&cl.create_context},
	{"clReleaseContext", (void **)&cl.release_context},
	{"clCreateCommandQueueWithProperties", (void **)&cl.create_queue_props},
	{"clCreateCommandQueue", (void **)&cl.create_queue},
	{"clReleaseCommandQueue", (void **)&cl.release_queue},
	{"clFlush", (void **)&cl.flush},
	{"clFinish", (void **)&cl.finish},
	{"clCreateProgramWithSource", (void **)&cl.create_program},
	{"clBuildProgram", (void **)&cl.build_program},
	{"clGetProgramBuildInfo", (void **)&cl.build_info},
	{"clReleaseProgram", (void **)&cl.release_program},
	{"clCreateKernel", (void **)&cl.create_kernel},
	{"clReleaseKernel", (void **)&cl.release_kernel},
	{"clGetKernelInfo", (void **)&cl.kernel_info},
	{"clGetKernelArgInfo", (void **)&cl.kernel_arg_info},
	{"clGetKernelWorkGroupInfo", (void **)&cl.kernel_wg_info},
	{"clSetKernelArg", (void **)&cl.set_arg},
	{"clSetKernelArgSVMPointer", (void **)&cl.set_arg_svm},
	{"clSetKernelExecInfo", (void **)&cl.exec_info},
	{"clEnqueueNDRangeKernel", (void **)&cl.ndrange},
	{"clSVMAlloc", (void **)&cl.svm_alloc},
	{"clSVMFree", (void **)&cl.svm_free},
	{"clEnqueueSVMMemcpy", (void **)&cl.svm_memcpy},
	{"clEnqueueSVMMemFill", (void **)&cl.svm_memfill},
	{"clEnqueueSVMMap", (void **)&cl.svm_map},
	{"clEnqueueSVMUnmap", (void **)&cl.svm_unmap},
	{"clEnqueueSVMMigrateMem", (void **)&cl.svm_migrate},
	{"clEnqueueMarkerWithWaitList", (void **)&cl.marker},
	{"clWaitForEvents", (void **)&cl.wait_events},
	{"clGetEventInfo", (void **)&cl.event_info},
	{"clReleaseEvent", (void **)&cl.release_event},
};

int clshim_load(const char *lib, char *err, size_t errlen) {
	const char *name = lib ? lib : "libOpenCL.so.1";
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		*entries[i].slot = dlsym(h, entries[i].name);
	if (!cl.get_platform_ids || !cl.get_device_ids || !cl.get_platform_info || !cl.get_device_info) {
		snprintf(err, errlen, "%s lacks the OpenCL platform/device query entry points", name);
		return -1;
	}
	return 0;
}

int clshim_has(const char *name) {
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (strcmp(entries[i].name, name) == 0)
			return *entries[i].slot != NULL;
	return 0;
}

#define NEED(f)                       \
	do {                              \
		if (!cl.f)                    \
			return SVMRT_CL_MISSING; \
	} while (0)
#define NEED_OBJ(f)                       \
	do {                                  \
		if (!cl.f) {                      \
			*err = SVMRT_CL_MISSING;     \
			return NULL;                  \
		}                                 \
	} while (0)

cl_int clshim_platforms(cl_uint max, cl_platform_id *out, cl_uint *n) {
	guard_enter();
	cl_int rc = cl.get_platform_ids(max, out, n);
	guard_leave();
	return rc;
}
cl_int clshim_devices(cl_platform_id p, cl_uint max, cl_device_id *out, cl_uint *n) {
	// PoCL initialises its devices (and LLVM) here.
	guard_enter();
	cl_int rc = cl.get_device_ids(p, SVMRT_CL_DEVICE_TYPE_ALL, max, out, n);
	guard_leave();
	return rc;
}
cl_int clshim_platform_info(cl_platform_id p, cl_uint param, size_t size, void *value, size_t *ret) {
	return cl.get_platform_info(p, param, size, value, ret);
}
cl_int clshim_device_info(cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret) {
	return cl.get_device_info(d, param, size, value, ret);
}

cl_context clshim_create_context(cl_platform_id p, cl_device_id d, cl_int *err) {
	NEED_OBJ(create_context);
	intptr_t props[] = {SVMRT_CL_CONTEXT_PLATFORM, (intptr_t)p, 0};
	guard_enter();
	cl_context c = cl.create_context(props, 1, &d, NULL, NULL, err);
	guard_leave();
	return c;
}
cl_int clshim_release_context(cl_context c) {
	NEED(release_context);
	return cl.release_context(c);
}

cl_command_queue clshim_create_queue(cl_context c, cl_device_id d, cl_int *err) {
	// OpenCL 2.0 deprecates clCreateCommandQueue; 1.2 loaders lack the
	// replacement. Either gives an in-order queue without profiling.
	if (cl.create_queue_props)
		return cl.create_queue_props(c, d, NULL, err);
	NEED_OBJ(create_queue);
	return cl.create_queue(c, d, 0, err);
}
cl_int clshim_release_queue(cl_command_queue q) {
	NEED(release_queue);
	return cl.release_queue(q);
}
cl_int clshim_flush(cl_command_queue q) {
	NEED(flush);
	return cl.flush(q);
}
cl_int clshim_finish(cl_command_queue q) {
	NEED(finish);
	return cl.finish(q);
}

cl_program clshim_create_program(cl_context c, const char *src, cl_int *err) {
	NEED_OBJ(create_program);
	return cl.create_program(c, 1, &src, NULL, err);
}
cl_int clshim_build_program(cl_program p, cl_device_id d, const char *options) {
	NEED(build_program);
	guard_enter();
	cl_int rc = cl.build_program(p, 1, &d, options, NULL, NULL);
	guard_leave();
	return rc;
}
cl_int clshim_build_log(cl_program p, cl_device_id d, size_t size, char *value, size_t *ret) {
	NEED(build_info);
	return cl.build_info(p, d, SVMRT_CL_PROGRAM_BUILD_LOG, size, value, ret);
}
cl_int clshim_release_program(cl_program p) {
	NEED(release_program);
	return cl.release_program(p);
}
cl_kernel clshim_create_kernel(cl_program p, const char *name, cl_int *err) {
	NEED_OBJ(create_kernel);
	return cl.create_kernel(p, name, err);
}
cl_int clshim_release_kernel(cl_kernel k) {
	NEED(release_kernel);
	return cl.release_kernel(k);
}
cl_int clshim_kernel_num_args(cl_kernel k, cl_uint *n) {
	NEED(kernel_info);
	return cl.kernel_info(k, SVMRT_CL_KERNEL_NUM_ARGS, sizeof *n, n, NULL);
}
cl_int clshim_kernel_arg_address(cl_kernel k, cl_uint i, cl_uint *qual) {
	NEED(kernel_arg_info);
	return cl.kernel_arg_info(k, i, SVMRT_CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof *qual, qual, NULL);
}
cl_int clshim_kernel_arg_info(cl_kernel k, cl_uint i, cl_uint param, size_t size, void *value, size_t *ret) {
	NEED(kernel_arg_info);
	return cl.kernel_arg_info(k, i, param, size, value, ret);
}
cl_int clshim_kernel_wg_info(cl_kernel k, cl_device_id d, cl_uint param, size_t size, void *value, size_t *ret) {
	NEED(kernel_wg_info);
	return cl.kernel_wg_info(k, d, param, size, value, ret);
}
cl_int clshim_set_arg_scalar(cl_kernel k, cl_uint i, size_t size, uint64_t value) {
	NEED(set_arg);
	// Little-endian: the low size bytes of value are its first bytes.
	return cl.set_arg(k, i, size, (const void *)&value);
}
cl_int clshim_set_arg_bytes(cl_kernel k, cl_uint i, size_t size, const void *p) {
	NEED(set_arg);
	return cl.set_arg(k, i, size, p);
}
cl_int clshim_set_arg_local(cl_kernel k, cl_uint i, size_t size) {
	NEED(set_arg);
	return cl.set_arg(k, i, size, NULL);
}
cl_int clshim_set_arg_null(cl_kernel k, cl_uint i) {
	NEED(set_arg);
	void *null_mem = NULL;
	return cl.set_arg(k, i, sizeof null_mem, &null_mem);
}
cl_int clshim_set_arg_svm(cl_kernel k, cl_uint i, uintptr_t ptr) {
	NEED(set_arg_svm);
	return cl.set_arg_svm(k, i, (const void *)ptr);
}
cl_int clshim_exec_info_fine_system(cl_kernel k, int on) {
	NEED(exec_info);
	cl_uint v = on ? 1 : 0; // cl_bool
	return cl.exec_info(k, SVMRT_CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof v, &v);
}
cl_int clshim_exec_info_svm_ptrs(cl_kernel k, const uintptr_t *ptrs, size_t n) {
	NEED(exec_info);
	return cl.exec_info(k, SVMRT_CL_KERNEL_EXEC_INFO_SVM_PTRS, n * sizeof(void *), ptrs);
}
cl_int clshim_enqueue_ndrange(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local, cl_event *ev) {
	NEED(ndrange);
	return cl.ndrange(q, k, dims, NULL, global, local, 0, NULL, ev);
}

uintptr_t clshim_svm_alloc(cl_context c, cl_bitfield flags, size_t size, cl_uint alignment) {
	if (!cl.svm_alloc)
		return 0;
	return (uintptr_t)cl.svm_alloc(c, flags, size, alignment);
}
void clshim_svm_free(cl_context c, uintptr_t p) {
	if (cl.svm_free)
		cl.svm_free(c, (void *)p);
}
cl_int clshim_svm_memcpy(cl_command_queue q, int blocking, uintptr_t dst, uintptr_t src, size_t n, cl_event *ev) {
	NEED(svm_memcpy);
	return cl.svm_memcpy(q, blocking ? 1 : 0, (void *)dst, (const void *)src, n, 0, NULL, ev);
}
cl_int clshim_svm_memfill(cl_command_queue q, uintptr_t dst, const void *pattern, size_t psize, size_t n, cl_event *ev) {
	NEED(svm_memfill);
	return cl.svm_memfill(q, (void *)dst, pattern, psize, n, 0, NULL, ev);
}
cl_int clshim_svm_map(cl_command_queue q, int blocking, cl_bitfield flags, uintptr_t p, size_t n, cl_event *ev) {
	NEED(svm_map);
	return cl.svm_map(q, blocking ? 1 : 0, flags, (void *)p, n, 0, NULL, ev);
}
cl_int clshim_svm_unmap(cl_command_queue q, uintptr_t p, cl_event *ev) {
	NEED(svm_unmap);
	return cl.svm_unmap(q, (void *)p, 0, NULL, ev);
}
cl_int clshim_svm_migrate(cl_command_queue q, uintptr_t p, size_t n, cl_bitfield flags, cl_event *ev) {
	NEED(svm_migrate);
	const void *ptrs[1] = {(const void *)p};
	size_t sizes[1] = {n};
	return cl.svm_migrate(q, 1, ptrs, sizes, flags, 0, NULL, ev);
}

cl_int clshim_marker(cl_command_queue q, cl_event *ev) {
	NEED(marker);
	return cl.marker(q, 0, NULL, ev);
}

cl_int clshim_wait_event(cl_event e) {
	NEED(wait_events);
	return cl.wait_events(1, &e);
}
cl_int clshim_event_status(cl_event e, cl_int *status) {
	NEED(event_info);
	return cl.event_info(e, SVMRT_CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof *status, status, NULL);
}
cl_int clshim_release_event(cl_event e) {
	NEED(release_event);
	return cl.release_event(e);
}
