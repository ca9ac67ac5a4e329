// svm.c: fine-grained system SVM through svmrt's ICD (link with -lOpenCL,
// select the platform with OCL_ICD_VENDORS): saxpy on plain malloc memory
// passed with clSetKernelArgSVMPointer; a linked list built with malloc on
// the host and walked by a kernel; clSVMAlloc and the SVM commands (memcpy,
// fill, map, unmap, migrate, enqueued free) on clSVMAlloc's and malloc's
// memory, results read straight from the host.
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"

static const char *src = "__kernel void saxpy(__global float *y, __global const float *x, float a, int n) {\n"
			 "\tint i = get_global_id(0);\n"
			 "\tif (i < n)\n"
			 "\t\ty[i] = a * x[i] + y[i];\n"
			 "}\n"
			 "struct node { __global struct node *next; int value; };\n"
			 "typedef __global struct node *nodeptr;\n"
			 "__kernel void walk(__global nodeptr *heads, __global int *sums, int n) {\n"
			 "\tint i = get_global_id(0);\n"
			 "\tif (i >= n)\n"
			 "\t\treturn;\n"
			 "\tint s = 0, k = 0;\n"
			 "\tfor (__global struct node *p = heads[i]; p; p = p->next)\n"
			 "\t\ts += p->value * ++k;\n"
			 "\tsums[i] = s;\n"
			 "}\n"
			 "__kernel void bump(__global int *p) { p[get_global_id(0)] += 1; }\n";

struct node {
	struct node *next;
	int value;
};

static void *freed[4];
static int nfreed;
static void CL_CALLBACK on_free(cl_command_queue q, cl_uint n, void *ptrs[], void *user_data) {
	for (cl_uint i = 0; i < n && nfreed < 4; i++)
		freed[nfreed++] = ptrs[i];
	for (cl_uint i = 0; i < n; i++)
		clSVMFree((cl_context)user_data, ptrs[i]);
}

int main(void) {
	cl_platform_id p;
	cl_device_id d;
	cl_context c;
	cl_command_queue q;
	cl_int err;
	if (!setup(&p, &d, &c, &q))
		goto out;
	cl_program prog = build(c, d, src, "");
	if (!prog)
		goto out;

	// ---- saxpy on malloc memory ----
	enum { N = 100000 };
	float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
	for (int i = 0; i < N; i++) {
		x[i] = (float)i;
		y[i] = 1.0f;
	}
	cl_kernel saxpy = clCreateKernel(prog, "saxpy", &err);
	CODE(err, CL_SUCCESS);
	float a = 2.0f;
	int n = N;
	CODE(clSetKernelArgSVMPointer(saxpy, 0, y), CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(saxpy, 1, x), CL_SUCCESS);
	CODE(clSetKernelArg(saxpy, 2, sizeof a, &a), CL_SUCCESS);
	CODE(clSetKernelArg(saxpy, 3, sizeof n, &n), CL_SUCCESS);
	size_t gs = (N + 255) / 256 * 256, ls = 256;
	cl_event ev;
	CODE(clEnqueueNDRangeKernel(q, saxpy, 1, NULL, &gs, &ls, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	int wrong = 0;
	for (int i = 0; i < N; i++)
		wrong += y[i] != 2.0f * (float)i + 1.0f;
	CHECK(wrong == 0, "saxpy: %d wrong, y[1] = %g", wrong, y[1]);
	cl_ulong t0 = 0, t1 = 0;
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL), CL_SUCCESS);
	CHECK(t1 > t0, "saxpy took %" PRIu64 " simulated ns", (uint64_t)(t1 - t0));
	printf("saxpy of %d floats on malloc memory: y[%d] = %g, %" PRIu64 " simulated ns\n", N, N - 1, y[N - 1],
	       (uint64_t)(t1 - t0));
	CODE(clReleaseEvent(ev), CL_SUCCESS);

	// ---- a linked list built with malloc, walked by the device ----
	enum { LISTS = 64 };
	struct node **heads = malloc(LISTS * sizeof *heads);
	int *sums = calloc(LISTS, sizeof *sums), want[LISTS];
	for (int i = 0; i < LISTS; i++) {
		heads[i] = NULL;
		want[i] = 0;
		// List i holds i+1 nodes with values 1..i+1, head first.
		struct node **tail = &heads[i];
		for (int k = 1; k <= i + 1; k++) {
			struct node *nd = malloc(sizeof *nd);
			nd->next = NULL;
			nd->value = k * 3 + i;
			*tail = nd;
			tail = &nd->next;
			want[i] += nd->value * k;
		}
	}
	cl_kernel walk = clCreateKernel(prog, "walk", &err);
	CODE(err, CL_SUCCESS);
	int nl = LISTS;
	CODE(clSetKernelArgSVMPointer(walk, 0, heads), CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(walk, 1, sums), CL_SUCCESS);
	CODE(clSetKernelArg(walk, 2, sizeof nl, &nl), CL_SUCCESS);
	cl_bool fgs = CL_TRUE;
	CODE(clSetKernelExecInfo(walk, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof fgs, &fgs), CL_SUCCESS);
	size_t lg = LISTS;
	CODE(clEnqueueNDRangeKernel(q, walk, 1, NULL, &lg, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	wrong = 0;
	for (int i = 0; i < LISTS; i++)
		wrong += sums[i] != want[i];
	CHECK(wrong == 0, "list walk: %d wrong, sums[63] = %d, want %d", wrong, sums[LISTS - 1], want[LISTS - 1]);
	printf("walked %d malloc'd lists: sums[%d] = %d\n", LISTS, LISTS - 1, sums[LISTS - 1]);
	// The host changes the list; the device sees the change.
	heads[1]->next->value += 1000;
	want[1] += 1000 * 2;
	CODE(clEnqueueNDRangeKernel(q, walk, 1, NULL, &lg, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(sums[1] == want[1], "after a host update: sums[1] = %d, want %d", sums[1], want[1]);

	// ---- clSVMAlloc ----
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE, 0, 0) == NULL, "a 0-byte allocation");
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE | CL_MEM_READ_ONLY, 64, 0) == NULL, "two access flags");
	CHECK(clSVMAlloc(c, CL_MEM_SVM_ATOMICS, 64, 0) == NULL, "atomics without fine grain");
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE, 64, 3) == NULL, "alignment 3");
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE, 64, 256) == NULL, "alignment 256");
	CHECK(clSVMAlloc(c, 1 << 20, 64, 0) == NULL, "an unknown flag");
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE, (size_t)1 << 40, 0) == NULL, "1 TiB");
	enum { M = 1 << 16 };
	int *s1 = clSVMAlloc(c, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS, M * sizeof(int), 128);
	int *s2 = clSVMAlloc(c, CL_MEM_READ_WRITE, M * sizeof(int), 0);
	CHECK(s1 && s2 && (uintptr_t)s1 % 128 == 0 && (uintptr_t)s2 % 128 == 0, "allocations %p %p", (void *)s1,
	      (void *)s2);
	if (!s1 || !s2)
		goto out;

	// Fill s1 with 7s on the device, bump it there, copy it to s2.
	int seven = 7;
	CODE(clEnqueueSVMMemFill(q, s1, &seven, 3, M * sizeof(int), 0, NULL, NULL), CL_INVALID_VALUE); // not a power of 2
	CODE(clEnqueueSVMMemFill(q, s1, &seven, sizeof seven, 6, 0, NULL, NULL), CL_INVALID_VALUE);  // not a multiple
	CODE(clEnqueueSVMMemFill(q, (char *)s1 + 2, &seven, sizeof seven, 8, 0, NULL, NULL), CL_INVALID_VALUE); // misaligned
	CODE(clEnqueueSVMMemFill(q, s1, NULL, sizeof seven, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueSVMMemFill(q, s1, &seven, sizeof seven, M * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	cl_kernel bump = clCreateKernel(prog, "bump", &err);
	CODE(err, CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(bump, 0, s1), CL_SUCCESS);
	size_t mg = M;
	CODE(clEnqueueNDRangeKernel(q, bump, 1, NULL, &mg, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueSVMMemcpy(q, CL_TRUE, s2, s1, M * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	CHECK(s2[0] == 8 && s2[M - 1] == 8, "memcpy after fill and bump: %d %d", s2[0], s2[M - 1]);
	CODE(clEnqueueSVMMemcpy(q, CL_TRUE, s1 + 1, s1, 8, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
	CODE(clEnqueueSVMMemcpy(q, CL_TRUE, NULL, s1, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	// From malloc memory into SVM memory, non-blocking with an event.
	CODE(clEnqueueSVMMemcpy(q, CL_FALSE, s2, sums, LISTS * sizeof(int), 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	cl_command_type ct = 0;
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_SVM_MEMCPY, "command type %#x", ct);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CHECK(s2[LISTS - 1] == want[LISTS - 1] && s2[LISTS] == 8, "memcpy from malloc memory: %d %d", s2[LISTS - 1],
	      s2[LISTS]);
	// A 16-byte pattern.
	int pat[4] = {1, 2, 3, 4};
	CODE(clEnqueueSVMMemFill(q, s2, pat, sizeof pat, 64 * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(s2[0] == 1 && s2[5] == 2 && s2[63] == 4 && s2[64] == 8, "16-byte fill: %d %d %d %d", s2[0], s2[5], s2[63],
	      s2[64]);

	// Migrate s1 to the device and home again, map and unmap around host
	// accesses.
	const void *mp[] = {s1};
	size_t msz[] = {0}; // the whole allocation
	CODE(clEnqueueSVMMigrateMem(q, 1, mp, msz, 0, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueSVMMigrateMem(q, 1, mp, NULL, CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_SVM_MIGRATE_MEM, "command type %#x", ct);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CODE(clEnqueueSVMMigrateMem(q, 1, mp, msz, 1 << 7, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueSVMMigrateMem(q, 0, mp, msz, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	const void *mallocp[] = {x};
	CODE(clEnqueueSVMMigrateMem(q, 1, mallocp, NULL, 0, 0, NULL, NULL), CL_INVALID_VALUE); // extent unknown
	size_t xsz[] = {N * sizeof(float)};
	CODE(clEnqueueSVMMigrateMem(q, 1, mallocp, xsz, 0, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, bump, 1, NULL, &mg, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueSVMMap(q, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, s1, M * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	CHECK(s1[0] == 9 && s1[M - 1] == 9, "after migrations and a bump: %d %d", s1[0], s1[M - 1]);
	s1[0] = 100;
	CODE(clEnqueueSVMUnmap(q, s1, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueSVMMap(q, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE_INVALIDATE_REGION, s1, 4, 0, NULL, NULL),
	     CL_INVALID_VALUE);
	CODE(clEnqueueSVMMap(q, CL_TRUE, CL_MAP_READ, s1, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueNDRangeKernel(q, bump, 1, NULL, &mg, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(s1[0] == 101 && s1[1] == 10, "after unmap and a bump: %d %d", s1[0], s1[1]);
	CHECK(x[N - 1] == (float)(N - 1), "x after its migration: %g", x[N - 1]);

	// clEnqueueSVMFree: the callback gets the pointers; without one the
	// ICD frees them.
	void *fp[] = {s1};
	CODE(clEnqueueSVMFree(q, 1, fp, on_free, c, 0, NULL, &ev), CL_SUCCESS);
	fp[0] = NULL; // the ICD has its own copy
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(nfreed == 1 && freed[0] == s1, "free callback: %d pointers", nfreed);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_SVM_FREE, "command type %#x", ct);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	void *fp2[] = {s2};
	CODE(clEnqueueSVMFree(q, 1, fp2, NULL, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueSVMFree(q, 1, NULL, NULL, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clFinish(q), CL_SUCCESS);
	void *s3 = clSVMAlloc(c, CL_MEM_READ_WRITE, 4096, 0);
	CHECK(s3 != NULL, "an allocation after the frees");
	clSVMFree(c, s3);

	CODE(clReleaseKernel(bump), CL_SUCCESS);
	CODE(clReleaseKernel(walk), CL_SUCCESS);
	CODE(clReleaseKernel(saxpy), CL_SUCCESS);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(c), CL_SUCCESS);

out:
	printf("svm: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
