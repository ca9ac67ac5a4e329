// buffers.c: buffers and sub-buffers through svmrt's ICD (link with
// -lOpenCL, select the platform with OCL_ICD_VENDORS): every way to create
// one, every clGetMemObjectInfo query, reference counts and destructor
// callbacks, buffers as kernel arguments, every buffer command (read,
// write, copy, fill, their rectangles, map, unmap, migrate) blocking and
// not, with events and wait lists, checked against the data; global work
// offsets; and each bad argument's spec error code.
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"

static const char *src = "__kernel void add(__global int *a, __global const int *b) {\n"
			 "\tsize_t i = get_global_id(0);\n"
			 "\ta[i] += b[i];\n"
			 "}\n"
			 "__kernel void ids(__global int *out) {\n"
			 "\tsize_t i = get_global_id(0) - get_global_offset(0);\n"
			 "\tout[i] = (int)get_global_id(0) * 10 + (int)get_global_offset(0);\n"
			 "}\n"
			 "__kernel void ids2(__global int *out) {\n"
			 "\tsize_t x = get_global_id(0) - get_global_offset(0), y = get_global_id(1) - get_global_offset(1);\n"
			 "\tout[y * get_global_size(0) + x] = (int)(get_global_id(1) * 1000 + get_global_id(0));\n"
			 "}\n";

static int order[4], norder;
static cl_mem dtor_mem[4];

static void CL_CALLBACK on_destroy(cl_mem m, void *user_data) {
	if (norder < 4) {
		dtor_mem[norder] = m;
		order[norder++] = (int)(intptr_t)user_data;
	}
}

static cl_int status(cl_event e) {
	cl_int s = 1234;
	clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s, &s, NULL);
	return s;
}

static cl_command_type ctype(cl_event e) {
	cl_command_type t = 0;
	clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof t, &t, NULL);
	return t;
}

// ints reads n ints of m from offset 0 (blocking).
static void readints(cl_command_queue q, cl_mem m, int *out, size_t n) {
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, n * sizeof(int), out, 0, NULL, NULL), CL_SUCCESS);
}

static void creation(cl_context c, cl_command_queue q, cl_device_id d) {
	cl_int err;
	int data[256], back[256];
	for (int i = 0; i < 256; i++)
		data[i] = i * 3 + 1;

	// CL_MEM_READ_WRITE, the library's storage: write, read back.
	cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, sizeof data, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, sizeof data, data, 0, NULL, NULL), CL_SUCCESS);
	memset(back, 0, sizeof back);
	readints(q, m, back, 256);
	CHECK(memcmp(back, data, sizeof data) == 0, "read_write: back[5] = %d", back[5]);
	void *hp = (void *)1;
	CODE(clGetMemObjectInfo(m, CL_MEM_HOST_PTR, sizeof hp, &hp, NULL), CL_SUCCESS);
	CHECK(hp == NULL, "CL_MEM_HOST_PTR %p without USE_HOST_PTR", hp);
	cl_mem_flags fl = 0;
	CODE(clGetMemObjectInfo(m, CL_MEM_FLAGS, sizeof fl, &fl, NULL), CL_SUCCESS);
	CHECK(fl == CL_MEM_READ_WRITE, "flags %#" PRIx64, (uint64_t)fl);
	CODE(clReleaseMemObject(m), CL_SUCCESS);

	// Flags 0 default to CL_MEM_READ_WRITE.
	m = clCreateBuffer(c, 0, 64, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetMemObjectInfo(m, CL_MEM_FLAGS, sizeof fl, &fl, NULL), CL_SUCCESS);
	CHECK(fl == CL_MEM_READ_WRITE, "default flags %#" PRIx64, (uint64_t)fl);
	CODE(clReleaseMemObject(m), CL_SUCCESS);

	// CL_MEM_COPY_HOST_PTR: the data is copied at creation.
	int tmp[256];
	memcpy(tmp, data, sizeof tmp);
	m = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof tmp, tmp, &err);
	CODE(err, CL_SUCCESS);
	memset(tmp, 0, sizeof tmp);
	readints(q, m, back, 256);
	CHECK(memcmp(back, data, sizeof data) == 0, "copy_host_ptr: back[7] = %d", back[7]);
	CODE(clReleaseMemObject(m), CL_SUCCESS);

	// CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR.
	m = clCreateBuffer(c, CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR, sizeof data, data, &err);
	CODE(err, CL_SUCCESS);
	readints(q, m, back, 256);
	CHECK(memcmp(back, data, sizeof data) == 0, "alloc|copy_host_ptr: back[9] = %d", back[9]);
	CODE(clReleaseMemObject(m), CL_SUCCESS);

	// CL_MEM_USE_HOST_PTR: the storage is the application's memory.
	int *host = aligned_alloc(4096, 4096);
	memcpy(host, data, sizeof data);
	m = clCreateBuffer(c, CL_MEM_USE_HOST_PTR, 4096, host, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetMemObjectInfo(m, CL_MEM_HOST_PTR, sizeof hp, &hp, NULL), CL_SUCCESS);
	CHECK(hp == host, "CL_MEM_HOST_PTR %p, want %p", hp, (void *)host);
	int v = 77;
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 8, sizeof v, &v, 0, NULL, NULL), CL_SUCCESS);
	CHECK(host[2] == 77, "use_host_ptr: host[2] = %d after a write", host[2]);
	cl_bool svm = CL_TRUE;
	CODE(clGetMemObjectInfo(m, CL_MEM_USES_SVM_POINTER, sizeof svm, &svm, NULL), CL_SUCCESS);
	CHECK(svm == CL_FALSE, "malloc'd host_ptr reported as an SVM pointer");
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	free(host);

	// An SVM pointer: CL_MEM_USES_SVM_POINTER, and it must hold the buffer.
	void *s = clSVMAlloc(c, CL_MEM_READ_WRITE, 4096, 0);
	CHECK(clCreateBuffer(c, CL_MEM_USE_HOST_PTR, 8192, s, &err) == NULL && err == CL_INVALID_BUFFER_SIZE, "err %d",
	      err);
	m = clCreateBuffer(c, CL_MEM_USE_HOST_PTR, 4096, s, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetMemObjectInfo(m, CL_MEM_USES_SVM_POINTER, sizeof svm, &svm, NULL), CL_SUCCESS);
	CHECK(svm == CL_TRUE, "SVM host_ptr not reported as one");
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	clSVMFree(c, s);

	// clCreateBufferWithProperties: no property names are defined.
	cl_mem_properties none[] = {0}, bad[] = {0x7777, 1, 0};
	m = clCreateBufferWithProperties(c, none, CL_MEM_READ_WRITE, 64, NULL, &err);
	CODE(err, CL_SUCCESS);
	size_t sz = 99;
	CODE(clGetMemObjectInfo(m, CL_MEM_PROPERTIES, 0, NULL, &sz), CL_SUCCESS);
	CHECK(sz == sizeof(cl_mem_properties), "CL_MEM_PROPERTIES size %zu", sz);
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	m = clCreateBufferWithProperties(c, NULL, CL_MEM_READ_WRITE, 64, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetMemObjectInfo(m, CL_MEM_PROPERTIES, 0, NULL, &sz), CL_SUCCESS);
	CHECK(sz == 0, "CL_MEM_PROPERTIES size %zu without properties", sz);
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	CHECK(clCreateBufferWithProperties(c, bad, CL_MEM_READ_WRITE, 64, NULL, &err) == NULL &&
		      err == CL_INVALID_PROPERTY,
	      "err %d", err);

	// Bad flags, sizes and host pointers.
	cl_mem_flags badflags[] = {
		CL_MEM_READ_WRITE | CL_MEM_READ_ONLY,
		CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY,
		CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY,
		CL_MEM_HOST_NO_ACCESS | CL_MEM_HOST_READ_ONLY,
		CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR,
		CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR,
		(cl_mem_flags)1 << 40,
		CL_MEM_SVM_FINE_GRAIN_BUFFER,
	};
	for (size_t i = 0; i < sizeof badflags / sizeof *badflags; i++)
		CHECK(clCreateBuffer(c, badflags[i], 64, data, &err) == NULL && err == CL_INVALID_VALUE,
		      "flags %#" PRIx64 ": err %d", (uint64_t)badflags[i], err);
	CHECK(clCreateBuffer(c, CL_MEM_READ_WRITE, 0, NULL, &err) == NULL && err == CL_INVALID_BUFFER_SIZE, "err %d", err);
	cl_ulong maxalloc = 0;
	CODE(clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL), CL_SUCCESS);
	CHECK(clCreateBuffer(c, CL_MEM_READ_WRITE, maxalloc + 1, NULL, &err) == NULL && err == CL_INVALID_BUFFER_SIZE,
	      "err %d", err);
	CHECK(clCreateBuffer(c, CL_MEM_USE_HOST_PTR, 64, NULL, &err) == NULL && err == CL_INVALID_HOST_PTR, "err %d", err);
	CHECK(clCreateBuffer(c, CL_MEM_COPY_HOST_PTR, 64, NULL, &err) == NULL && err == CL_INVALID_HOST_PTR, "err %d",
	      err);
	CHECK(clCreateBuffer(c, CL_MEM_READ_WRITE, 64, data, &err) == NULL && err == CL_INVALID_HOST_PTR, "err %d", err);
	struct forged fc = forge(c);
	CHECK(clCreateBuffer((cl_context)&fc, CL_MEM_READ_WRITE, 64, NULL, &err) == NULL && err == CL_INVALID_CONTEXT,
	      "err %d", err);
}

static void info_and_lifetime(cl_context c, cl_command_queue q) {
	cl_int err;
	int *host = aligned_alloc(4096, 4096);
	for (int i = 0; i < 1024; i++)
		host[i] = i;
	cl_mem m = clCreateBuffer(c, CL_MEM_USE_HOST_PTR | CL_MEM_READ_ONLY | CL_MEM_HOST_READ_ONLY, 4096, host, &err);
	CODE(err, CL_SUCCESS);

	// Every query of the buffer.
	cl_mem_object_type t = 0;
	CODE(clGetMemObjectInfo(m, CL_MEM_TYPE, sizeof t, &t, NULL), CL_SUCCESS);
	CHECK(t == CL_MEM_OBJECT_BUFFER, "type %#x", t);
	cl_mem_flags fl = 0;
	CODE(clGetMemObjectInfo(m, CL_MEM_FLAGS, sizeof fl, &fl, NULL), CL_SUCCESS);
	CHECK(fl == (CL_MEM_USE_HOST_PTR | CL_MEM_READ_ONLY | CL_MEM_HOST_READ_ONLY), "flags %#" PRIx64, (uint64_t)fl);
	size_t sz = 0, ret = 0;
	CODE(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof sz, &sz, &ret), CL_SUCCESS);
	CHECK(sz == 4096 && ret == sizeof(size_t), "size %zu (%zu bytes)", sz, ret);
	cl_uint u = 9;
	CODE(clGetMemObjectInfo(m, CL_MEM_MAP_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 0, "map count %u", u);
	CODE(clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 1, "reference count %u", u);
	cl_context mc = NULL;
	CODE(clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof mc, &mc, NULL), CL_SUCCESS);
	CHECK(mc == c, "context %p", (void *)mc);
	cl_mem assoc = (cl_mem)1;
	CODE(clGetMemObjectInfo(m, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof assoc, &assoc, NULL), CL_SUCCESS);
	CHECK(assoc == NULL, "a buffer's associated object %p", (void *)assoc);
	size_t off = 7;
	CODE(clGetMemObjectInfo(m, CL_MEM_OFFSET, sizeof off, &off, NULL), CL_SUCCESS);
	CHECK(off == 0, "a buffer's offset %zu", off);
	CODE(clGetMemObjectInfo(m, 0x7777, sizeof sz, &sz, NULL), CL_INVALID_VALUE);
	CODE(clGetMemObjectInfo(m, CL_MEM_SIZE, 4, &sz, NULL), CL_INVALID_VALUE); // too small

	// A sub-buffer: the flags it inherits, its queries, its data.
	cl_buffer_region r = {256, 512};
	cl_mem sub = clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetMemObjectInfo(sub, CL_MEM_FLAGS, sizeof fl, &fl, NULL), CL_SUCCESS);
	CHECK(fl == (CL_MEM_USE_HOST_PTR | CL_MEM_READ_ONLY | CL_MEM_HOST_READ_ONLY), "sub-buffer flags %#" PRIx64,
	      (uint64_t)fl);
	CODE(clGetMemObjectInfo(sub, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof assoc, &assoc, NULL), CL_SUCCESS);
	CHECK(assoc == m, "associated %p, want %p", (void *)assoc, (void *)m);
	CODE(clGetMemObjectInfo(sub, CL_MEM_OFFSET, sizeof off, &off, NULL), CL_SUCCESS);
	CHECK(off == 256, "offset %zu", off);
	CODE(clGetMemObjectInfo(sub, CL_MEM_SIZE, sizeof sz, &sz, NULL), CL_SUCCESS);
	CHECK(sz == 512, "sub-buffer size %zu", sz);
	void *hp = NULL;
	CODE(clGetMemObjectInfo(sub, CL_MEM_HOST_PTR, sizeof hp, &hp, NULL), CL_SUCCESS);
	CHECK(hp == (char *)host + 256, "sub-buffer host ptr %p, want %p", hp, (void *)((char *)host + 256));
	int back[128];
	CODE(clEnqueueReadBuffer(q, sub, CL_TRUE, 0, sizeof back, back, 0, NULL, NULL), CL_SUCCESS);
	CHECK(back[0] == 64 && back[127] == 191, "sub-buffer data %d..%d", back[0], back[127]);
	// Writing is refused: the host may only read it.
	CODE(clEnqueueWriteBuffer(q, sub, CL_TRUE, 0, 4, back, 0, NULL, NULL), CL_INVALID_OPERATION);

	// Bad sub-buffers.
	cl_buffer_region mis = {4, 64}, out = {4096 - 128, 256}, empty = {0, 0};
	CHECK(clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &mis, &err) == NULL &&
		      err == CL_MISALIGNED_SUB_BUFFER_OFFSET,
	      "err %d", err);
	CHECK(clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &out, &err) == NULL && err == CL_INVALID_VALUE,
	      "err %d", err);
	CHECK(clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &empty, &err) == NULL &&
		      err == CL_INVALID_BUFFER_SIZE,
	      "err %d", err);
	CHECK(clCreateSubBuffer(m, 0, 0x7777, &r, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	CHECK(clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, NULL, &err) == NULL && err == CL_INVALID_VALUE,
	      "err %d", err);
	CHECK(clCreateSubBuffer(m, CL_MEM_WRITE_ONLY, CL_BUFFER_CREATE_TYPE_REGION, &r, &err) == NULL &&
		      err == CL_INVALID_VALUE,
	      "write-only in read-only: err %d", err);
	CHECK(clCreateSubBuffer(m, CL_MEM_HOST_WRITE_ONLY, CL_BUFFER_CREATE_TYPE_REGION, &r, &err) == NULL &&
		      err == CL_INVALID_VALUE,
	      "host write-only in host read-only: err %d", err);
	CHECK(clCreateSubBuffer(m, CL_MEM_COPY_HOST_PTR, CL_BUFFER_CREATE_TYPE_REGION, &r, &err) == NULL &&
		      err == CL_INVALID_VALUE,
	      "err %d", err);
	cl_buffer_region r0 = {0, 128};
	CHECK(clCreateSubBuffer(sub, 0, CL_BUFFER_CREATE_TYPE_REGION, &r0, &err) == NULL && err == CL_INVALID_MEM_OBJECT,
	      "a sub-buffer of a sub-buffer: err %d", err);
	struct forged fm = forge(m);
	CHECK(clCreateSubBuffer((cl_mem)&fm, 0, CL_BUFFER_CREATE_TYPE_REGION, &r0, &err) == NULL &&
		      err == CL_INVALID_MEM_OBJECT,
	      "err %d", err);

	// Reference counts and destructor callbacks: the buffer lives while
	// its sub-buffer does; its callbacks run last registered first.
	CODE(clSetMemObjectDestructorCallback(m, NULL, NULL), CL_INVALID_VALUE);
	CODE(clSetMemObjectDestructorCallback((cl_mem)&fm, on_destroy, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clSetMemObjectDestructorCallback(m, on_destroy, (void *)1), CL_SUCCESS);
	CODE(clSetMemObjectDestructorCallback(m, on_destroy, (void *)2), CL_SUCCESS);
	CODE(clSetMemObjectDestructorCallback(sub, on_destroy, (void *)3), CL_SUCCESS);
	CODE(clRetainMemObject(m), CL_SUCCESS);
	CODE(clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 2, "reference count %u after a retain", u);
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	CHECK(norder == 0, "%d destructors ran while a sub-buffer holds the buffer", norder);
	CODE(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof sz, &sz, NULL), CL_INVALID_MEM_OBJECT); // released
	CODE(clReleaseMemObject(m), CL_INVALID_MEM_OBJECT);
	CODE(clRetainMemObject(m), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, 4, back, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueReadBuffer(q, sub, CL_TRUE, 0, 4, back, 0, NULL, NULL), CL_SUCCESS);
	CHECK(back[0] == 64, "the sub-buffer after its buffer's release: %d", back[0]);
	CODE(clReleaseMemObject(sub), CL_SUCCESS);
	CHECK(norder == 3 && order[0] == 3 && order[1] == 2 && order[2] == 1 && dtor_mem[0] == sub && dtor_mem[1] == m,
	      "destructors: %d ran (%d %d %d)", norder, order[0], order[1], order[2]);
	free(host); // the destructors have run: the application may free its memory
}

static void kernel_args(cl_context c, cl_command_queue q, cl_program prog) {
	cl_int err;
	int a[256], b[256], back[256];
	for (int i = 0; i < 256; i++)
		a[i] = i, b[i] = 1000 * i;
	cl_mem ma = clCreateBuffer(c, CL_MEM_COPY_HOST_PTR, sizeof a, a, &err);
	cl_mem mb = clCreateBuffer(c, CL_MEM_COPY_HOST_PTR | CL_MEM_READ_ONLY, sizeof b, b, &err);
	cl_kernel add = clCreateKernel(prog, "add", &err);
	CODE(err, CL_SUCCESS);
	CODE(clSetKernelArg(add, 0, sizeof ma, &ma), CL_SUCCESS);
	CODE(clSetKernelArg(add, 1, sizeof mb, &mb), CL_SUCCESS);
	CODE(clSetKernelArg(add, 1, 4, &mb), CL_INVALID_ARG_SIZE);
	struct forged fm = forge(ma);
	cl_mem forged = (cl_mem)&fm;
	CODE(clSetKernelArg(add, 1, sizeof forged, &forged), CL_INVALID_MEM_OBJECT);
	size_t gs = 256;
	cl_event ev;
	CODE(clEnqueueNDRangeKernel(q, add, 1, NULL, &gs, NULL, 0, NULL, &ev), CL_SUCCESS);
	readints(q, ma, back, 256);
	int wrong = 0;
	for (int i = 0; i < 256; i++)
		wrong += back[i] != 1001 * i;
	CHECK(wrong == 0, "add: %d wrong, back[3] = %d", wrong, back[3]);
	CHECK(status(ev) == CL_COMPLETE, "status %d", status(ev));
	CODE(clReleaseEvent(ev), CL_SUCCESS);

	// On a sub-buffer: the kernel gets the address of its window.
	cl_buffer_region r = {512, 512};
	cl_mem sub = clCreateSubBuffer(ma, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CODE(err, CL_SUCCESS);
	CODE(clSetKernelArg(add, 0, sizeof sub, &sub), CL_SUCCESS);
	CODE(clSetKernelArg(add, 1, sizeof mb, &mb), CL_SUCCESS);
	gs = 128;
	CODE(clEnqueueNDRangeKernel(q, add, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_SUCCESS);
	readints(q, ma, back, 256);
	wrong = 0;
	for (int i = 0; i < 256; i++)
		wrong += back[i] != (i < 128 ? 1001 * i : 1001 * i + 1000 * (i - 128));
	CHECK(wrong == 0, "add on a sub-buffer: %d wrong, back[130] = %d", wrong, back[130]);

	// A buffer released after it was set is no argument for a launch.
	CODE(clReleaseMemObject(sub), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, add, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_INVALID_KERNEL_ARGS);
	// A buffer released while its launch is queued lives until it ends.
	cl_event ue = clCreateUserEvent(c, &err);
	CODE(clSetKernelArg(add, 0, sizeof ma, &ma), CL_SUCCESS);
	CODE(clEnqueueNDRangeKernel(q, add, 1, NULL, &gs, NULL, 1, &ue, &ev), CL_SUCCESS);
	CODE(clReleaseMemObject(mb), CL_SUCCESS);
	CODE(clSetUserEventStatus(ue, CL_COMPLETE), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	readints(q, ma, back, 256);
	CHECK(back[1] == 2001, "after the queued launch: back[1] = %d", back[1]);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CODE(clReleaseEvent(ue), CL_SUCCESS);
	CODE(clReleaseKernel(add), CL_SUCCESS);
	CODE(clReleaseMemObject(ma), CL_SUCCESS);

	// Global work offsets: ids start at the offset.
	int ids[64 * 8];
	cl_mem mi = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof ids, NULL, &err);
	cl_kernel k = clCreateKernel(prog, "ids", &err);
	CODE(clSetKernelArg(k, 0, sizeof mi, &mi), CL_SUCCESS);
	size_t off = 16, g1 = 64, l1 = 16;
	CODE(clEnqueueNDRangeKernel(q, k, 1, &off, &g1, &l1, 0, NULL, NULL), CL_SUCCESS);
	readints(q, mi, ids, 64);
	wrong = 0;
	for (int i = 0; i < 64; i++)
		wrong += ids[i] != (i + 16) * 10 + 16;
	CHECK(wrong == 0, "1-D offset: %d wrong, ids[0] = %d", wrong, ids[0]);
	CODE(clReleaseKernel(k), CL_SUCCESS);
	k = clCreateKernel(prog, "ids2", &err);
	CODE(clSetKernelArg(k, 0, sizeof mi, &mi), CL_SUCCESS);
	size_t off2[2] = {3, 5}, g2[2] = {64, 8}, l2[2] = {16, 2};
	CODE(clEnqueueNDRangeKernel(q, k, 2, off2, g2, l2, 0, NULL, NULL), CL_SUCCESS);
	readints(q, mi, ids, 64 * 8);
	wrong = 0;
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 64; x++)
			wrong += ids[y * 64 + x] != (y + 5) * 1000 + x + 3;
	CHECK(wrong == 0, "2-D offset: %d wrong, ids[65] = %d", wrong, ids[65]);
	CODE(clReleaseKernel(k), CL_SUCCESS);
	CODE(clReleaseMemObject(mi), CL_SUCCESS);
}

static void commands(cl_context c, cl_command_queue q) {
	cl_int err;
	enum { N = 1024 };
	int data[N], back[N];
	for (int i = 0; i < N; i++)
		data[i] = i + 1;
	cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, sizeof data, NULL, &err);
	CODE(err, CL_SUCCESS);

	// Non-blocking write behind a user event, then a blocking read.
	cl_event ue = clCreateUserEvent(c, &err), ev, ev2;
	CODE(clEnqueueWriteBuffer(q, m, CL_FALSE, 0, sizeof data, data, 1, &ue, &ev), CL_SUCCESS);
	CHECK(status(ev) == CL_QUEUED, "write went on before its wait list: status %d", status(ev));
	CHECK(ctype(ev) == CL_COMMAND_WRITE_BUFFER, "type %#x", ctype(ev));
	CODE(clSetUserEventStatus(ue, CL_COMPLETE), CL_SUCCESS);
	CODE(clEnqueueReadBuffer(q, m, CL_FALSE, 0, sizeof back, back, 1, &ev, &ev2), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev2), CL_SUCCESS);
	CHECK(memcmp(back, data, sizeof data) == 0, "write/read: back[10] = %d", back[10]);
	CHECK(ctype(ev2) == CL_COMMAND_READ_BUFFER, "type %#x", ctype(ev2));
	cl_ulong t0 = 0, t1 = 0;
	CODE(clGetEventProfilingInfo(ev2, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev2, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL), CL_SUCCESS);
	CHECK(t1 >= t0, "read's profile %" PRIu64 "..%" PRIu64, (uint64_t)t0, (uint64_t)t1);
	clReleaseEvent(ev), clReleaseEvent(ev2), clReleaseEvent(ue);

	// A failed wait list fails the command: a blocking one says so.
	ue = clCreateUserEvent(c, &err);
	CODE(clSetUserEventStatus(ue, -1), CL_SUCCESS);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, 4, back, 1, &ue, NULL), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	clReleaseEvent(ue);

	// Partial reads and writes at offsets.
	int v[4] = {-1, -2, -3, -4};
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 40, sizeof v, v, 0, NULL, NULL), CL_SUCCESS);
	int w[6];
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 36, sizeof w, w, 0, NULL, NULL), CL_SUCCESS);
	CHECK(w[0] == 10 && w[1] == -1 && w[4] == -4 && w[5] == 15, "offset write: %d %d %d %d", w[0], w[1], w[4], w[5]);

	// Copy: within one buffer, between buffers, and the overlaps.
	cl_mem m2 = clCreateBuffer(c, CL_MEM_READ_WRITE, sizeof data, NULL, &err);
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, sizeof data, data, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueCopyBuffer(q, m, m2, 0, 0, sizeof data, 0, NULL, &ev), CL_SUCCESS);
	CODE(clEnqueueCopyBuffer(q, m, m, 0, 2048, 2048, 0, NULL, NULL), CL_SUCCESS);
	readints(q, m2, back, N);
	CHECK(memcmp(back, data, sizeof data) == 0, "copy: back[100] = %d", back[100]);
	CHECK(ctype(ev) == CL_COMMAND_COPY_BUFFER, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	readints(q, m, back, N);
	CHECK(back[512] == 1 && back[1023] == 512 && back[0] == 1, "copy within: %d %d", back[512], back[1023]);
	CODE(clEnqueueCopyBuffer(q, m, m, 0, 16, 64, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
	CODE(clEnqueueCopyBuffer(q, m, m2, 0, 4000, 200, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueCopyBuffer(q, m, m2, 4096, 0, 1, 0, NULL, NULL), CL_INVALID_VALUE);
	cl_buffer_region ra = {0, 256}, rb = {128, 256};
	cl_mem sa = clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &ra, &err);
	cl_mem sb = clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &rb, &err);
	CODE(clEnqueueCopyBuffer(q, sa, sb, 0, 0, 256, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
	CODE(clEnqueueCopyBuffer(q, sa, sb, 0, 128, 128, 0, NULL, NULL), CL_SUCCESS); // bytes 0..127 to 256..383
	readints(q, m, back, N);
	CHECK(back[64] == 1 && back[95] == 32, "copy between sub-buffers: %d %d", back[64], back[95]);
	clReleaseMemObject(sa), clReleaseMemObject(sb);

	// Fill: a 4-byte pattern over a range; the bad patterns.
	int pat = 0x5a5a1234;
	CODE(clEnqueueFillBuffer(q, m2, &pat, sizeof pat, 16, 64, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_FILL_BUFFER, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	readints(q, m2, back, 32);
	CHECK(back[3] == 4 && back[4] == pat && back[19] == pat && back[20] == 21, "fill: %d %#x %#x %d", back[3], back[4],
	      back[19], back[20]);
	CODE(clEnqueueFillBuffer(q, m2, &pat, 3, 0, 12, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueFillBuffer(q, m2, &pat, 4, 2, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueFillBuffer(q, m2, &pat, 4, 0, 6, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueFillBuffer(q, m2, NULL, 4, 0, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueFillBuffer(q, m2, &pat, 4, 4096, 4, 0, NULL, NULL), CL_INVALID_VALUE);
	// Storage that is not aligned to the pattern (the application's).
	char *raw = aligned_alloc(4096, 8192);
	memset(raw, 0, 8192);
	cl_mem um = clCreateBuffer(c, CL_MEM_USE_HOST_PTR, 64, raw + 1, &err);
	CODE(err, CL_SUCCESS);
	short sp = 0x0102;
	CODE(clEnqueueFillBuffer(q, um, &sp, sizeof sp, 2, 8, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(raw[2] == 0 && raw[3] == 2 && raw[4] == 1 && raw[10] == 1 && raw[11] == 0, "unaligned fill: %d %d %d %d",
	      raw[3], raw[4], raw[10], raw[11]);
	clReleaseMemObject(um);
	free(raw);

	// Rectangles: a 16 x 8 x 2 block of ints in the buffer.
	int host[2][8][16], got[2][8][16];
	for (int z = 0; z < 2; z++)
		for (int y = 0; y < 8; y++)
			for (int x = 0; x < 16; x++)
				host[z][y][x] = z * 10000 + y * 100 + x;
	size_t zero[3] = {0, 0, 0}, whole[3] = {16 * sizeof(int), 8, 2};
	CODE(clEnqueueWriteBufferRect(q, m2, CL_TRUE, zero, zero, whole, 0, 0, 0, 0, host, 0, NULL, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_WRITE_BUFFER_RECT, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	readints(q, m2, back, 256);
	CHECK(memcmp(back, host, sizeof host) == 0, "whole rect: back[17] = %d", back[17]);
	// A 4 x 3 x 2 window at (2, 1, 0) of the buffer into (1, 2, 0) of got.
	memset(got, 0, sizeof got);
	int wrong;
	size_t bo[3] = {2 * sizeof(int), 1, 0}, ho[3] = {1 * sizeof(int), 2, 0}, reg[3] = {4 * sizeof(int), 3, 2};
	size_t row = 16 * sizeof(int), slice = 8 * row;
	CODE(clEnqueueReadBufferRect(q, m2, CL_FALSE, bo, ho, reg, row, slice, row, slice, got, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_READ_BUFFER_RECT, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	wrong = 0;
	for (int z = 0; z < 2; z++)
		for (int y = 0; y < 8; y++)
			for (int x = 0; x < 16; x++) {
				int in = x >= 1 && x < 5 && y >= 2 && y < 5;
				wrong += got[z][y][x] != (in ? host[z][y - 1][x + 1] : 0);
			}
	CHECK(wrong == 0, "read rect: %d wrong, got[0][2][1] = %d", wrong, got[0][2][1]);
	// Copy that window within the buffer to (8, 4, 0), then read it back.
	size_t dst[3] = {8 * sizeof(int), 4, 0};
	CODE(clEnqueueCopyBufferRect(q, m2, m2, bo, dst, reg, row, slice, row, slice, 0, NULL, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_COPY_BUFFER_RECT, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	readints(q, m2, back, 256);
	CHECK(back[4 * 16 + 8] == host[0][1][2] && back[128 + 6 * 16 + 11] == host[1][3][5] && back[4 * 16 + 7] == host[0][4][7],
	      "copy rect: %d %d", back[4 * 16 + 8], back[128 + 6 * 16 + 11]);
	size_t near[3] = {3 * sizeof(int), 2, 0}, bad0[3] = {0, 1, 1}, big[3] = {16 * sizeof(int), 8, 9};
	CODE(clEnqueueCopyBufferRect(q, m2, m2, bo, near, reg, row, slice, row, slice, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
	CODE(clEnqueueCopyBufferRect(q, m2, m2, bo, dst, reg, row, slice, row * 2, slice * 2, 0, NULL, NULL),
	     CL_INVALID_VALUE);
	CODE(clEnqueueReadBufferRect(q, m2, CL_TRUE, zero, zero, bad0, 0, 0, 0, 0, got, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueReadBufferRect(q, m2, CL_TRUE, zero, zero, big, 0, 0, 0, 0, got, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueReadBufferRect(q, m2, CL_TRUE, zero, zero, reg, 4, 0, 0, 0, got, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueReadBufferRect(q, m2, CL_TRUE, NULL, zero, reg, 0, 0, 0, 0, got, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueWriteBufferRect(q, m2, CL_TRUE, zero, zero, reg, row, 8, 0, 0, host, 0, NULL, NULL),
	     CL_INVALID_VALUE); // slice pitch below region[1] * row pitch

	// Map and unmap: the pointer is the storage; the map count follows.
	int *p = clEnqueueMapBuffer(q, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 64, 256, 0, NULL, &ev, &err);
	CODE(err, CL_SUCCESS);
	CHECK(p != NULL && ctype(ev) == CL_COMMAND_MAP_BUFFER, "map %p type %#x", (void *)p, ctype(ev));
	clReleaseEvent(ev);
	cl_uint mc = 0;
	CODE(clGetMemObjectInfo(m, CL_MEM_MAP_COUNT, sizeof mc, &mc, NULL), CL_SUCCESS);
	CHECK(mc == 1, "map count %u", mc);
	if (p) {
		CHECK(p[0] == 17, "mapped p[0] = %d", p[0]);
		p[1] = 4242;
	}
	CODE(clEnqueueUnmapMemObject(q, m, data, 0, NULL, NULL), CL_INVALID_VALUE); // not mapped
	CODE(clEnqueueUnmapMemObject(q, m, p, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_UNMAP_MEM_OBJECT, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	CODE(clEnqueueUnmapMemObject(q, m, p, 0, NULL, NULL), CL_INVALID_VALUE); // unmapped already
	CODE(clGetMemObjectInfo(m, CL_MEM_MAP_COUNT, sizeof mc, &mc, NULL), CL_SUCCESS);
	CHECK(mc == 0, "map count %u after unmap", mc);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 68, 4, w, 0, NULL, NULL), CL_SUCCESS);
	CHECK(w[0] == 4242, "write through the map: %d", w[0]);
	// Non-blocking: the pointer comes at once, valid once its event is.
	p = clEnqueueMapBuffer(q, m, CL_FALSE, CL_MAP_WRITE_INVALIDATE_REGION, 0, 4096, 0, NULL, &ev, &err);
	CODE(err, CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	clReleaseEvent(ev);
	CODE(clEnqueueUnmapMemObject(q, m, p, 0, NULL, NULL), CL_SUCCESS);
	CHECK(clEnqueueMapBuffer(q, m, CL_TRUE, CL_MAP_READ, 0, 0, 0, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE,
	      "size 0: err %d", err);
	CHECK(clEnqueueMapBuffer(q, m, CL_TRUE, CL_MAP_READ, 4000, 200, 0, NULL, NULL, &err) == NULL &&
		      err == CL_INVALID_VALUE,
	      "out of range: err %d", err);
	CHECK(clEnqueueMapBuffer(q, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE_INVALIDATE_REGION, 0, 4, 0, NULL, NULL, &err) ==
			      NULL &&
		      err == CL_INVALID_VALUE,
	      "flags: err %d", err);
	CHECK(clEnqueueMapBuffer(q, m, CL_TRUE, 0x100, 0, 4, 0, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE,
	      "flags: err %d", err);

	// Host access flags.
	cl_mem na = clCreateBuffer(c, CL_MEM_HOST_NO_ACCESS, 64, NULL, &err);
	cl_mem wo = clCreateBuffer(c, CL_MEM_HOST_WRITE_ONLY, 64, NULL, &err);
	CHECK(clEnqueueMapBuffer(q, na, CL_TRUE, CL_MAP_READ, 0, 4, 0, NULL, NULL, &err) == NULL &&
		      err == CL_INVALID_OPERATION,
	      "map of a host-no-access buffer: err %d", err);
	CODE(clEnqueueReadBuffer(q, wo, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_OPERATION);
	CODE(clEnqueueWriteBuffer(q, wo, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueWriteBuffer(q, na, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_OPERATION);
	CODE(clEnqueueCopyBuffer(q, wo, na, 0, 0, 4, 0, NULL, NULL), CL_SUCCESS); // the device may
	clReleaseMemObject(na), clReleaseMemObject(wo);

	// Migration: to the device and home; the data stays.
	cl_mem both[2] = {m, m2};
	CODE(clEnqueueMigrateMemObjects(q, 2, both, 0, 0, NULL, &ev), CL_SUCCESS);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(ctype(ev) == CL_COMMAND_MIGRATE_MEM_OBJECTS, "type %#x", ctype(ev));
	clReleaseEvent(ev);
	CODE(clEnqueueMigrateMemObjects(q, 1, both, CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 68, 4, w, 0, NULL, NULL), CL_SUCCESS);
	CODE(clEnqueueMigrateMemObjects(q, 1, both, 0x100, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueMigrateMemObjects(q, 0, both, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	struct forged fm = forge(m), fq = forge(q);
	cl_mem bad[2] = {m, (cl_mem)&fm};
	CODE(clEnqueueMigrateMemObjects(q, 2, bad, 0, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);

	// Bad handles, pointers, ranges and wait lists.
	CODE(clEnqueueReadBuffer((cl_command_queue)&fq, m, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clEnqueueReadBuffer(q, (cl_mem)&fm, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueReadBuffer(q, NULL, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, 4, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 4093, 4, w, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, (size_t)-4, 8, w, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, 0, w, 0, NULL, NULL), CL_INVALID_VALUE);
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, 4, w, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
	cl_event fake = (cl_event)&fm;
	CODE(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, 4, w, 1, &fake, NULL), CL_INVALID_EVENT_WAIT_LIST);
	CODE(clEnqueueCopyBuffer(q, m, (cl_mem)&fm, 0, 0, 4, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	CODE(clEnqueueFillBuffer((cl_command_queue)&fq, m, &pat, 4, 0, 4, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	CODE(clEnqueueUnmapMemObject(q, (cl_mem)&fm, p, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
	// A buffer of another context.
	cl_device_id d;
	clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof d, &d, NULL);
	cl_context c2 = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	cl_mem other = clCreateBuffer(c2, CL_MEM_READ_WRITE, 64, NULL, &err);
	CODE(clEnqueueReadBuffer(q, other, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_CONTEXT);
	CODE(clEnqueueCopyBuffer(q, m, other, 0, 0, 4, 0, NULL, NULL), CL_INVALID_CONTEXT);
	clReleaseMemObject(other);
	clReleaseContext(c2);

	// Images: the device has none; a buffer is not one.
	size_t o3[3] = {0, 0, 0}, r3[3] = {1, 1, 1};
	CODE(clEnqueueReadImage(q, m, CL_TRUE, o3, r3, 0, 0, w, 0, NULL, NULL), CL_INVALID_OPERATION);
	CODE(clEnqueueCopyBufferToImage(q, m, m, 0, o3, r3, 0, NULL, NULL), CL_INVALID_OPERATION);
	size_t isz;
	CODE(clGetImageInfo(m, CL_IMAGE_WIDTH, sizeof isz, &isz, NULL), CL_INVALID_MEM_OBJECT);
	cl_image_format fmt = {CL_RGBA, CL_UNORM_INT8};
	cl_image_desc desc = {.image_type = CL_MEM_OBJECT_IMAGE1D_BUFFER, .image_width = 16, .buffer = m};
	CHECK(clCreateImage(c, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d",
	      err);

	CODE(clReleaseMemObject(m2), CL_SUCCESS);
	CODE(clReleaseMemObject(m), CL_SUCCESS);
	CODE(clEnqueueReadBuffer(q, m, CL_TRUE, 0, 4, w, 0, NULL, NULL), CL_INVALID_MEM_OBJECT); // released
}

int main(void) {
	cl_platform_id p;
	cl_device_id d;
	cl_context c;
	cl_command_queue q;
	if (!setup(&p, &d, &c, &q))
		goto out;
	cl_program prog = build(c, d, src, "");
	if (!prog)
		goto out;
	creation(c, q, d);
	info_and_lifetime(c, q);
	kernel_args(c, q, prog);
	commands(c, q);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(c), CL_SUCCESS);
out:
	printf("buffers: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
