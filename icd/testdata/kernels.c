// kernels.c: an OpenCL host program that checks svmrt's programs, kernels,
// launches and events through the ICD loader (link with -lOpenCL, select
// the platform with OCL_ICD_VENDORS): building from source (strings and
// lengths, options, the build log of an error), program and build queries,
// kernel, argument and work-group queries, setting arguments (scalars,
// structs, __local sizes, SVM pointers), NDRange launches in 1 to 3
// dimensions with and without a local size, events (status, callbacks,
// user events, wait lists, markers, barriers, profiling).
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"

static const char *src_part1 = "typedef struct { int a; float b; } pair;\n"
			       "__kernel void fill(__global int *out, int v, pair pr, __local int *tmp) {\n"
			       "\tsize_t i = get_global_id(0);\n"
			       "\ttmp[get_local_id(0)] = v + pr.a;\n"
			       "\tbarrier(CLK_LOCAL_MEM_FENCE);\n"
			       "\tout[i] = tmp[get_local_id(0)] + (int)pr.b;\n"
			       "}\n";
static const char *src_part2 = "__kernel __attribute__((reqd_work_group_size(4, 2, 1)))\n"
			       "void grid(__global const float *restrict in, __global int *out, char c) {\n"
			       "\tsize_t x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);\n"
			       "\tsize_t w = get_global_size(0), h = get_global_size(1);\n"
			       "\tout[(z * h + y) * w + x] = (int)(x + 10 * y + 100 * z) + c + (int)in[0];\n"
			       "}\n"
			       "__kernel void one(__global int *out) { out[0] = 42; }\n"
			       "__kernel __attribute__((work_group_size_hint(8, 1, 1)))\n"
			       "void lsize(__global int *out) { out[get_global_id(0)] = get_local_size(0); }\n"
			       "__kernel void statloc(__global int *out) {\n"
			       "\t__local int tile[100];\n"
			       "\ttile[get_local_id(0)] = 1;\n"
			       "\tbarrier(CLK_LOCAL_MEM_FENCE);\n"
			       "\tout[get_global_id(0)] = tile[0];\n"
			       "}\n"
			       "__kernel void spin(__global volatile int *flag, __global int *out) { out[0] = flag[0] + 1; }\n";

static int builds, calls[8], ncalls;
static void CL_CALLBACK on_build(cl_program p, void *user_data) { builds++; }
static void CL_CALLBACK on_event(cl_event e, cl_int status, void *user_data) {
	if (ncalls < 8)
		calls[ncalls++] = status;
}

int main(void) {
	cl_platform_id p;
	cl_device_id d;
	cl_context c;
	cl_command_queue q;
	cl_int err;
	char buf[8192];
	size_t size;
	cl_uint u;
	if (!setup(&p, &d, &c, &q))
		goto out;

	// ---- Programs ----
	// Two strings, the first with an explicit length that cuts it short
	// of a trailing junk line, the second NUL-terminated (length 0).
	char part1[1024];
	snprintf(part1, sizeof part1, "%s#error junk past the length\n", src_part1);
	const char *strs[] = {part1, src_part2};
	size_t lens[] = {strlen(src_part1), 0};
	cl_program prog = clCreateProgramWithSource(c, 2, strs, lens, &err);
	CODE(err, CL_SUCCESS);
	if (!prog)
		goto out;
	CODE(clGetProgramInfo(prog, CL_PROGRAM_SOURCE, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(size == strlen(src_part1) + strlen(src_part2) + 1 && strncmp(buf, src_part1, strlen(src_part1)) == 0,
	      "source (%zu bytes)", size);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_NUM_KERNELS, sizeof size, &size, NULL), CL_INVALID_PROGRAM_EXECUTABLE);
	CHECK(clCreateKernel(prog, "fill", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
	cl_build_status bs = 7;
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL), CL_SUCCESS);
	CHECK(bs == CL_BUILD_NONE, "status %d before a build", bs);
	size_t gvs = 1;
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE, sizeof gvs, &gvs, NULL), CL_SUCCESS);
	CHECK(gvs == 0, "%zu bytes of global variables before a build", gvs);
	CODE(clBuildProgram(prog, 1, &d, "-cl-std=CL2.0 -D UNUSED=1", on_build, NULL), CL_SUCCESS);
	CHECK(builds == 1, "build callback called %d times", builds);
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL), CL_SUCCESS);
	CHECK(bs == CL_BUILD_SUCCESS, "status %d", bs);
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_OPTIONS, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "-cl-std=CL2.0 -D UNUSED=1") == 0, "options %s", buf);
	cl_program_binary_type bt = 0;
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BINARY_TYPE, sizeof bt, &bt, NULL), CL_SUCCESS);
	CHECK(bt == CL_PROGRAM_BINARY_TYPE_EXECUTABLE, "binary type %u", (unsigned)bt);
	gvs = 1;
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE, sizeof gvs, &gvs, NULL), CL_SUCCESS);
	CHECK(gvs == 0, "a program without __global variables has %zu bytes of them", gvs);
	CODE(clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_LOG, 0, NULL, &size), CL_SUCCESS);
	CHECK(size >= 1, "log size %zu", size);
	CODE(clGetProgramBuildInfo(prog, NULL, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL), CL_INVALID_DEVICE);
	CODE(clGetProgramBuildInfo(prog, d, 0x7777, sizeof bs, &bs, NULL), CL_INVALID_VALUE);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_NUM_KERNELS, sizeof size, &size, NULL), CL_SUCCESS);
	CHECK(size == 6, "%zu kernels", size);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "fill;grid;one;lsize;statloc;spin") == 0, "kernel names %s", buf);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 1, "reference count %u", u);
	cl_context pc = NULL;
	CODE(clGetProgramInfo(prog, CL_PROGRAM_CONTEXT, sizeof pc, &pc, NULL), CL_SUCCESS);
	CHECK(pc == c, "program context");
	CODE(clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 1, "%u devices", u);
	cl_device_id pd = NULL;
	CODE(clGetProgramInfo(prog, CL_PROGRAM_DEVICES, sizeof pd, &pd, NULL), CL_SUCCESS);
	CHECK(pd == d, "program device");
	// The binary: saved and loaded again.
	size_t bsz = 0;
	CODE(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bsz, &bsz, &size), CL_SUCCESS);
	CHECK(bsz > strlen(src_part2) && size == sizeof bsz, "binary size %zu", bsz);
	unsigned char *bins[1] = {malloc(bsz)};
	CODE(clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, &size), CL_SUCCESS);
	CHECK(size == sizeof bins, "binaries size %zu", size);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_BINARIES, 4, bins, NULL), CL_INVALID_VALUE);
	cl_int bstat = 1;
	cl_program fromb = clCreateProgramWithBinary(c, 1, &d, &bsz, (const unsigned char **)bins, &bstat, &err);
	CODE(err, CL_SUCCESS);
	CHECK(bstat == CL_SUCCESS, "binary status %d", bstat);
	free(bins[0]);
	CODE(clGetProgramInfo(fromb, CL_PROGRAM_SOURCE, sizeof buf, buf, &size), CL_SUCCESS);
	CHECK(size == 1, "source of a program from a binary: %zu bytes", size);
	CODE(clBuildProgram(fromb, 0, NULL, "-D IGNORED", NULL, NULL), CL_SUCCESS);
	CODE(clGetProgramBuildInfo(fromb, d, CL_PROGRAM_BUILD_OPTIONS, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "-cl-std=CL2.0 -D UNUSED=1") == 0, "options of a program from a binary: %s", buf);
	CODE(clGetProgramInfo(fromb, CL_PROGRAM_KERNEL_NAMES, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "fill;grid;one;lsize;statloc;spin") == 0, "kernel names from a binary: %s", buf);
	cl_kernel kb = clCreateKernel(fromb, "one", &err);
	CODE(err, CL_SUCCESS);
	int one_out = 0;
	CODE(clSetKernelArgSVMPointer(kb, 0, &one_out), CL_SUCCESS);
	CODE(clEnqueueTask(q, kb, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(one_out == 42, "a kernel of a program from a binary: %d", one_out);
	CODE(clReleaseKernel(kb), CL_SUCCESS);
	CODE(clReleaseProgram(fromb), CL_SUCCESS);
	CODE(clRetainProgram(prog), CL_SUCCESS);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 2, "reference count %u after retain", u);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CODE(clBuildProgram(prog, 1, &d, "-frobnicate", NULL, NULL), CL_INVALID_BUILD_OPTIONS);
	CODE(clBuildProgram(prog, 0, &d, NULL, NULL, NULL), CL_INVALID_VALUE);
	CODE(clBuildProgram(prog, 1, NULL, NULL, NULL, NULL), CL_INVALID_VALUE);
	CODE(clBuildProgram(prog, 1, &d, NULL, NULL, (void *)1), CL_INVALID_VALUE);
	CODE(clBuildProgram(prog, 0, NULL, NULL, NULL, NULL), CL_SUCCESS); // rebuild: no kernels exist

	// Separate compilation of one unit, with an embedded header.
	const char *hdr = "#define SEVEN 7\nint seven(void) { return SEVEN; }\n";
	const char *unit = "#include \"lib/seven.h\"\n__kernel void k7(__global int *o) { o[0] = seven() * K; }\n";
	cl_program hp = clCreateProgramWithSource(c, 1, &hdr, NULL, &err);
	cl_program up = clCreateProgramWithSource(c, 1, &unit, NULL, &err);
	const char *hname = "lib/seven.h";
	CODE(clCompileProgram(up, 0, NULL, "-D K=6", 1, &hp, NULL, NULL, NULL), CL_INVALID_VALUE);
	CODE(clCompileProgram(up, 0, NULL, "-D K=6", 0, NULL, NULL, NULL, NULL), CL_COMPILE_PROGRAM_FAILURE); // no header
	CODE(clCompileProgram(up, 0, NULL, "-frobnicate", 1, &hp, &hname, NULL, NULL), CL_INVALID_COMPILER_OPTIONS);
	builds = 0;
	CODE(clCompileProgram(up, 1, &d, "-D K=6", 1, &hp, &hname, on_build, NULL), CL_SUCCESS);
	CHECK(builds == 1, "compile callback called %d times", builds);
	CODE(clGetProgramBuildInfo(up, d, CL_PROGRAM_BINARY_TYPE, sizeof bt, &bt, NULL), CL_SUCCESS);
	CHECK(bt == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT, "binary type %u", (unsigned)bt);
	CHECK(clCreateKernel(up, "k7", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
	CHECK(clLinkProgram(c, 0, NULL, "-frobnicate", 1, &up, NULL, NULL, &err) == NULL && err == CL_INVALID_LINKER_OPTIONS,
	      "err %d", err);
	CHECK(clLinkProgram(c, 0, NULL, NULL, 1, &hp, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d",
	      err); // not compiled
	cl_program lib = clLinkProgram(c, 0, NULL, "-create-library", 1, &up, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetProgramBuildInfo(lib, d, CL_PROGRAM_BINARY_TYPE, sizeof bt, &bt, NULL), CL_SUCCESS);
	CHECK(bt == CL_PROGRAM_BINARY_TYPE_LIBRARY, "binary type %u", (unsigned)bt);
	cl_program exe = clLinkProgram(c, 1, &d, "-cl-fast-relaxed-math", 1, &lib, on_build, NULL, &err);
	CODE(err, CL_SUCCESS);
	CHECK(builds == 2, "link callback: %d calls", builds);
	CODE(clGetProgramBuildInfo(exe, d, CL_PROGRAM_BINARY_TYPE, sizeof bt, &bt, NULL), CL_SUCCESS);
	CHECK(bt == CL_PROGRAM_BINARY_TYPE_EXECUTABLE, "binary type %u", (unsigned)bt);
	CODE(clBuildProgram(exe, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION); // not from source
	cl_kernel k7 = clCreateKernel(exe, "k7", &err);
	CODE(err, CL_SUCCESS);
	int o7 = 0;
	CODE(clSetKernelArgSVMPointer(k7, 0, &o7), CL_SUCCESS);
	CODE(clEnqueueTask(q, k7, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(o7 == 42, "a kernel of a linked program: %d", o7);
	cl_program two[] = {up, up};
	cl_program two_p = clLinkProgram(c, 0, NULL, NULL, 2, two, NULL, NULL, &err);
	CHECK(two_p != NULL && err == CL_LINK_PROGRAM_FAILURE, "err %d", err);
	CODE(clGetProgramBuildInfo(two_p, d, CL_PROGRAM_BUILD_LOG, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strstr(buf, "multiply defined") != NULL, "log %s", buf); // k7 and seven, twice
	CODE(clReleaseProgram(two_p), CL_SUCCESS);
	CODE(clReleaseKernel(k7), CL_SUCCESS);
	CODE(clReleaseProgram(exe), CL_SUCCESS);
	CODE(clReleaseProgram(lib), CL_SUCCESS);
	CODE(clReleaseProgram(up), CL_SUCCESS);
	CODE(clReleaseProgram(hp), CL_SUCCESS);

	// A build error: CL_BUILD_PROGRAM_FAILURE, clang's log with file:line.
	const char *bad = "__kernel void k(__global int *p) {\n\tp[0] = 1\n}\n";
	cl_program badp = clCreateProgramWithSource(c, 1, &bad, NULL, &err);
	CODE(err, CL_SUCCESS);
	CODE(clBuildProgram(badp, 0, NULL, "", NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	CODE(clGetProgramBuildInfo(badp, d, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL), CL_SUCCESS);
	CHECK(bs == CL_BUILD_ERROR, "status %d", bs);
	CODE(clGetProgramBuildInfo(badp, d, CL_PROGRAM_BUILD_LOG, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strstr(buf, ":2:") != NULL && strstr(buf, "error") != NULL, "build log: %s", buf);
	printf("build log of a bad program:\n%s", buf);
	CHECK(clCreateKernel(badp, "k", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
	CODE(clReleaseProgram(badp), CL_SUCCESS);
	CODE(clGetProgramInfo(badp, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_PROGRAM);

	// ---- Kernels ----
	CHECK(clCreateKernel(prog, "nosuch", &err) == NULL && err == CL_INVALID_KERNEL_NAME, "err %d", err);
	CHECK(clCreateKernel(prog, NULL, &err) == NULL && err == CL_INVALID_VALUE, "err %d", err);
	cl_kernel fill = clCreateKernel(prog, "fill", &err);
	CODE(err, CL_SUCCESS);
	CODE(clBuildProgram(prog, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION); // kernels attached
	CODE(clGetKernelInfo(fill, CL_KERNEL_FUNCTION_NAME, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "fill") == 0, "name %s", buf);
	CODE(clGetKernelInfo(fill, CL_KERNEL_NUM_ARGS, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 4, "%u args", u);
	cl_program kp = NULL;
	CODE(clGetKernelInfo(fill, CL_KERNEL_PROGRAM, sizeof kp, &kp, NULL), CL_SUCCESS);
	CHECK(kp == prog, "kernel program");
	CODE(clGetKernelInfo(fill, CL_KERNEL_CONTEXT, sizeof pc, &pc, NULL), CL_SUCCESS);
	CHECK(pc == c, "kernel context");
	CODE(clGetKernelInfo(fill, CL_KERNEL_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 1, "kernel reference count %u", u);
	CODE(clGetKernelInfo(fill, CL_KERNEL_ATTRIBUTES, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "") == 0, "attributes %s", buf);
	cl_kernel_arg_address_qualifier aq;
	cl_kernel_arg_type_qualifier tq;
	CODE(clGetKernelArgInfo(fill, 0, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL), CL_SUCCESS);
	CHECK(aq == CL_KERNEL_ARG_ADDRESS_GLOBAL, "address qualifier %#x", aq);
	CODE(clGetKernelArgInfo(fill, 1, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL), CL_SUCCESS);
	CHECK(aq == CL_KERNEL_ARG_ADDRESS_PRIVATE, "address qualifier %#x", aq);
	CODE(clGetKernelArgInfo(fill, 3, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL), CL_SUCCESS);
	CHECK(aq == CL_KERNEL_ARG_ADDRESS_LOCAL, "address qualifier %#x", aq);
	CODE(clGetKernelArgInfo(fill, 0, CL_KERNEL_ARG_TYPE_NAME, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "int*") == 0, "type %s", buf);
	CODE(clGetKernelArgInfo(fill, 2, CL_KERNEL_ARG_TYPE_NAME, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "pair") == 0, "type %s", buf);
	CODE(clGetKernelArgInfo(fill, 2, CL_KERNEL_ARG_NAME, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "pr") == 0, "name %s", buf);
	cl_kernel_arg_access_qualifier acc;
	CODE(clGetKernelArgInfo(fill, 0, CL_KERNEL_ARG_ACCESS_QUALIFIER, sizeof acc, &acc, NULL), CL_SUCCESS);
	CHECK(acc == CL_KERNEL_ARG_ACCESS_NONE, "access qualifier %#x", acc);
	CODE(clGetKernelArgInfo(fill, 4, CL_KERNEL_ARG_NAME, sizeof buf, buf, NULL), CL_INVALID_ARG_INDEX);
	size_t wg = 0, cwg[3] = {9, 9, 9};
	CODE(clGetKernelWorkGroupInfo(fill, d, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL), CL_SUCCESS);
	CHECK(wg == 1024, "work-group size %zu", wg);
	CODE(clGetKernelWorkGroupInfo(fill, NULL, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof cwg, cwg, NULL), CL_SUCCESS);
	CHECK(cwg[0] == 0 && cwg[1] == 0 && cwg[2] == 0, "compile work-group size %zu", cwg[0]);
	CODE(clGetKernelWorkGroupInfo(fill, d, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof wg, &wg, NULL),
	     CL_SUCCESS);
	CHECK(wg == 32, "preferred multiple %zu", wg);
	cl_ulong lm = 1;
	CODE(clGetKernelWorkGroupInfo(fill, d, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof lm, &lm, NULL), CL_SUCCESS);
	CODE(clGetKernelWorkGroupInfo(fill, d, CL_KERNEL_GLOBAL_WORK_SIZE, sizeof cwg, cwg, NULL), CL_INVALID_VALUE);

	// Arguments: sizes checked against the parameters.
	int *out = calloc(4096, sizeof(int));
	int v = 5;
	struct {
		int a;
		float b;
	} pr = {2, 3.0f};
	CODE(clSetKernelArgSVMPointer(fill, 0, out), CL_SUCCESS);
	CODE(clSetKernelArg(fill, 1, sizeof(cl_long), &v), CL_INVALID_ARG_SIZE);
	CODE(clSetKernelArg(fill, 1, sizeof v, NULL), CL_INVALID_ARG_VALUE);
	CODE(clSetKernelArg(fill, 1, sizeof v, &v), CL_SUCCESS);
	CODE(clSetKernelArg(fill, 2, 4, &pr), CL_INVALID_ARG_SIZE);
	CODE(clSetKernelArg(fill, 2, sizeof pr, &pr), CL_SUCCESS);
	CODE(clSetKernelArg(fill, 3, 0, NULL), CL_INVALID_ARG_SIZE);
	CODE(clSetKernelArg(fill, 3, 64, &v), CL_INVALID_ARG_VALUE);
	CODE(clSetKernelArgSVMPointer(fill, 1, out), CL_INVALID_ARG_VALUE); // not a pointer
	CODE(clSetKernelArg(fill, 4, sizeof v, &v), CL_INVALID_ARG_INDEX);
	size_t gs = 256, ls = 64;
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, &ls, 0, NULL, NULL), CL_INVALID_KERNEL_ARGS); // tmp unset
	CODE(clSetKernelArg(fill, 3, 64 * sizeof(int), NULL), CL_SUCCESS);
	CODE(clGetKernelWorkGroupInfo(fill, d, CL_KERNEL_LOCAL_MEM_SIZE, sizeof lm, &lm, NULL), CL_SUCCESS);
	// The __local argument, and the program's static __local variables:
	// one block per group holds every kernel's (statloc's 400-byte tile),
	// in whole 64-byte units.
	CHECK(lm == 64 * sizeof(int) + 448, "local memory %" PRIu64, (uint64_t)lm);
	cl_bool fgs = CL_TRUE;
	CODE(clSetKernelExecInfo(fill, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof fgs, &fgs), CL_SUCCESS);
	void *svm_ptrs[] = {out};
	CODE(clSetKernelExecInfo(fill, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof svm_ptrs, svm_ptrs), CL_SUCCESS);
	CODE(clSetKernelExecInfo(fill, CL_KERNEL_EXEC_INFO_SVM_PTRS, 0, NULL), CL_SUCCESS); // unsets them
	CODE(clSetKernelExecInfo(fill, 0x7777, sizeof fgs, &fgs), CL_INVALID_VALUE);

	// ---- Launches ----
	// 64 KiB of __local argument and the static block exceed a group's
	// local memory.
	CODE(clSetKernelArg(fill, 3, 65536, NULL), CL_SUCCESS);
	CODE(clSetKernelArg(fill, 3, 65537, NULL), CL_INVALID_ARG_SIZE);
	ls = 64;
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, &ls, 0, NULL, NULL), CL_OUT_OF_RESOURCES);
	CODE(clSetKernelArg(fill, 3, 64 * sizeof(int), NULL), CL_SUCCESS);
	ls = 48; // 256 is not a multiple of 48
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, &ls, 0, NULL, NULL), CL_INVALID_WORK_GROUP_SIZE);
	ls = 2048;
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, &ls, 0, NULL, NULL), CL_INVALID_WORK_ITEM_SIZE);
	ls = 64;
	CODE(clEnqueueNDRangeKernel(q, fill, 0, NULL, &gs, &ls, 0, NULL, NULL), CL_INVALID_WORK_DIMENSION);
	CODE(clEnqueueNDRangeKernel(q, fill, 4, NULL, &gs, &ls, 0, NULL, NULL), CL_INVALID_WORK_DIMENSION);
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, NULL, &ls, 0, NULL, NULL), CL_SUCCESS); // no range: nothing to do (2.1+)
	size_t off = (size_t)-8; // global offset + size beyond size_t (offsets work: buffers.c)
	CODE(clEnqueueNDRangeKernel(q, fill, 1, &off, &gs, &ls, 0, NULL, NULL), CL_INVALID_GLOBAL_OFFSET);
	cl_event ev;
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, &ls, 0, NULL, &ev), CL_SUCCESS);
	v = 100; // arguments are captured at enqueue
	CODE(clSetKernelArg(fill, 1, sizeof v, &v), CL_SUCCESS);
	CODE(clSetEventCallback(ev, CL_COMPLETE, on_event, NULL), CL_SUCCESS);
	CODE(clSetEventCallback(ev, 0x7777, on_event, NULL), CL_INVALID_VALUE);
	CODE(clSetEventCallback(ev, CL_COMPLETE, NULL, NULL), CL_INVALID_VALUE);
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	cl_int st = 7;
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_COMPLETE, "status %d", st);
	int bad_out = 0;
	for (int i = 0; i < 256; i++)
		bad_out += out[i] != 5 + 2 + 3;
	CHECK(bad_out == 0, "%d wrong results, out[0] = %d", bad_out, out[0]);
	cl_command_type ct = 0;
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_NDRANGE_KERNEL, "command type %#x", ct);
	cl_command_queue eq = NULL;
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_QUEUE, sizeof eq, &eq, NULL), CL_SUCCESS);
	CHECK(eq == q, "event queue");
	CODE(clGetEventInfo(ev, CL_EVENT_CONTEXT, sizeof pc, &pc, NULL), CL_SUCCESS);
	CHECK(pc == c, "event context");
	CODE(clGetEventInfo(ev, CL_EVENT_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 1, "event reference count %u", u);
	cl_ulong t[4] = {0};
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_QUEUED, sizeof t[0], &t[0], NULL), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_SUBMIT, sizeof t[1], &t[1], NULL), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t[2], &t[2], NULL), CL_SUCCESS);
	CODE(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t[3], &t[3], NULL), CL_SUCCESS);
	CHECK(t[0] <= t[1] && t[1] <= t[2] && t[2] < t[3], "profiling times %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	      (uint64_t)t[0], (uint64_t)t[1], (uint64_t)t[2], (uint64_t)t[3]);
	printf("fill: %" PRIu64 " simulated ns\n", (uint64_t)(t[3] - t[2]));
	CODE(clGetEventProfilingInfo(ev, 0x7777, sizeof t[0], &t[0], NULL), CL_INVALID_VALUE);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(ncalls == 1 && calls[0] == CL_COMPLETE, "event callback: %d calls, status %d", ncalls, calls[0]);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_INVALID_EVENT);

	// The second launch: the new v, the local size chosen by the ICD.
	CODE(clEnqueueNDRangeKernel(q, fill, 1, NULL, &gs, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(out[0] == 105 && out[255] == 105, "out %d %d", out[0], out[255]);

	// 3-D with reqd_work_group_size, a char argument and a const restrict
	// pointer.
	cl_kernel grid = clCreateKernel(prog, "grid", &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetKernelInfo(grid, CL_KERNEL_ATTRIBUTES, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "reqd_work_group_size(4,2,1)") == 0, "attributes %s", buf);
	CODE(clGetKernelWorkGroupInfo(grid, d, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof cwg, cwg, NULL), CL_SUCCESS);
	CHECK(cwg[0] == 4 && cwg[1] == 2 && cwg[2] == 1, "compile work-group size %zu %zu %zu", cwg[0], cwg[1], cwg[2]);
	CODE(clGetKernelArgInfo(grid, 0, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof tq, &tq, NULL), CL_SUCCESS);
	CHECK(tq == (CL_KERNEL_ARG_TYPE_CONST | CL_KERNEL_ARG_TYPE_RESTRICT), "type qualifier %#" PRIx64, (uint64_t)tq);
	CODE(clGetKernelArgInfo(grid, 1, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof tq, &tq, NULL), CL_SUCCESS);
	CHECK(tq == CL_KERNEL_ARG_TYPE_NONE, "type qualifier %#" PRIx64, (uint64_t)tq);
	float in0 = 1000.0f;
	cl_char ch = 3;
	CODE(clSetKernelArgSVMPointer(grid, 0, &in0), CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(grid, 1, out), CL_SUCCESS);
	CODE(clSetKernelArg(grid, 2, sizeof(cl_int), &v), CL_INVALID_ARG_SIZE);
	CODE(clSetKernelArg(grid, 2, sizeof ch, &ch), CL_SUCCESS);
	size_t g3[3] = {8, 4, 2}, l3[3] = {4, 2, 1}, l3bad[3] = {2, 2, 1};
	CODE(clEnqueueNDRangeKernel(q, grid, 3, NULL, g3, l3bad, 0, NULL, NULL), CL_INVALID_WORK_GROUP_SIZE);
	CODE(clEnqueueNDRangeKernel(q, grid, 3, NULL, g3, l3, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	int wrong = 0;
	for (int z = 0; z < 2; z++)
		for (int y = 0; y < 4; y++)
			for (int x = 0; x < 8; x++)
				wrong += out[(z * 4 + y) * 8 + x] != x + 10 * y + 100 * z + 3 + 1000;
	CHECK(wrong == 0, "3-D: %d wrong, out[1] = %d", wrong, out[1]);
	// 2-D, local size from reqd_work_group_size.
	size_t g2[2] = {16, 4};
	CODE(clEnqueueNDRangeKernel(q, grid, 2, NULL, g2, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(out[16 * 3 + 15] == 15 + 30 + 3 + 1000, "2-D: out = %d", out[16 * 3 + 15]);

	// A NULL local size: the kernel's work_group_size_hint when it divides
	// the range, else the ICD's choice.
	cl_kernel lsize = clCreateKernel(prog, "lsize", &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetKernelInfo(lsize, CL_KERNEL_ATTRIBUTES, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "work_group_size_hint(8,1,1)") == 0, "attributes %s", buf);
	// vec_type_hint names the type as written, unsigned ones included
	// (LLVM's integer types have no sign).
	const char *hints = "__kernel __attribute__((vec_type_hint(uint4))) void hu(__global int *o) { o[0] = 1; }\n"
			    "__kernel __attribute__((vec_type_hint(char2))) void hc(__global int *o) { o[0] = 2; }\n"
			    "__kernel __attribute__((vec_type_hint(double3))) void hd(__global int *o) { o[0] = 3; }\n";
	cl_program hintp = build(c, d, hints, NULL);
	const char *hint_names[] = {"hu", "hc", "hd"}, *hint_want[] = {"vec_type_hint(uint4)", "vec_type_hint(char2)",
								     "vec_type_hint(double3)"};
	for (int i = 0; hintp && i < 3; i++) {
		cl_kernel hk = clCreateKernel(hintp, hint_names[i], &err);
		CODE(clGetKernelInfo(hk, CL_KERNEL_ATTRIBUTES, sizeof buf, buf, NULL), CL_SUCCESS);
		CHECK(strcmp(buf, hint_want[i]) == 0, "attributes of %s: %s", hint_names[i], buf);
		CODE(clReleaseKernel(hk), CL_SUCCESS);
	}
	if (hintp)
		CODE(clReleaseProgram(hintp), CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(lsize, 0, out), CL_SUCCESS);
	size_t g64 = 64, g12 = 12;
	CODE(clEnqueueNDRangeKernel(q, lsize, 1, NULL, &g64, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(out[0] == 8 && out[63] == 8, "local size from the hint: %d", out[0]);
	CODE(clEnqueueNDRangeKernel(q, lsize, 1, NULL, &g12, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(out[0] == 12 && out[11] == 12, "local size for 12 items: %d", out[0]);
	CODE(clReleaseKernel(lsize), CL_SUCCESS);

	// clCreateKernelsInProgram, clCloneKernel, clEnqueueTask.
	cl_kernel ks[6];
	CODE(clCreateKernelsInProgram(prog, 0, NULL, &u), CL_SUCCESS);
	CHECK(u == 6, "%u kernels", u);
	CODE(clCreateKernelsInProgram(prog, 2, ks, NULL), CL_INVALID_VALUE);
	CODE(clCreateKernelsInProgram(prog, 6, ks, &u), CL_SUCCESS);
	CODE(clGetKernelInfo(ks[2], CL_KERNEL_FUNCTION_NAME, sizeof buf, buf, NULL), CL_SUCCESS);
	CHECK(strcmp(buf, "one") == 0, "third kernel %s", buf);
	CODE(clSetKernelArgSVMPointer(ks[2], 0, out), CL_SUCCESS);
	cl_kernel clone = clCloneKernel(ks[2], &err);
	CODE(err, CL_SUCCESS);
	for (int i = 0; i < 6; i++)
		CODE(clReleaseKernel(ks[i]), CL_SUCCESS);
	out[0] = 0;
	CODE(clEnqueueTask(q, clone, 0, NULL, &ev), CL_SUCCESS); // the clone has the argument
	CODE(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(out[0] == 42, "task: out[0] = %d", out[0]);
	CODE(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_TASK, "command type %#x", ct);
	CODE(clReleaseEvent(ev), CL_SUCCESS);
	CODE(clEnqueueTask(q, grid, 0, NULL, NULL), CL_INVALID_WORK_GROUP_SIZE); // reqd 4x2x1

	// ---- Events: user events, wait lists, markers, barriers ----
	cl_event ue = clCreateUserEvent(c, &err);
	CODE(err, CL_SUCCESS);
	CODE(clGetEventInfo(ue, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_SUBMITTED, "user event status %d", st);
	CODE(clGetEventInfo(ue, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_USER, "command type %#x", ct);
	CODE(clGetEventInfo(ue, CL_EVENT_COMMAND_QUEUE, sizeof eq, &eq, NULL), CL_SUCCESS);
	CHECK(eq == NULL, "user event queue");
	CODE(clGetEventProfilingInfo(ue, CL_PROFILING_COMMAND_START, sizeof t[0], &t[0], NULL),
	     CL_PROFILING_INFO_NOT_AVAILABLE);
	out[0] = 0;
	cl_event kev, mev;
	CODE(clEnqueueTask(q, clone, 1, &ue, &kev), CL_SUCCESS);
	CODE(clEnqueueMarkerWithWaitList(q, 0, NULL, &mev), CL_SUCCESS);
	CODE(clFlush(q), CL_SUCCESS);
	CODE(clGetEventInfo(kev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st > CL_RUNNING || st == CL_QUEUED || st == CL_SUBMITTED, "waiting kernel status %d", st);
	CHECK(out[0] == 0, "the kernel ran before its user event completed");
	CODE(clGetEventProfilingInfo(kev, CL_PROFILING_COMMAND_START, sizeof t[0], &t[0], NULL),
	     CL_PROFILING_INFO_NOT_AVAILABLE); // not complete yet
	CODE(clSetUserEventStatus(ue, CL_RUNNING), CL_INVALID_VALUE);
	CODE(clSetUserEventStatus(ue, CL_COMPLETE), CL_SUCCESS);
	CODE(clSetUserEventStatus(ue, CL_COMPLETE), CL_INVALID_OPERATION);
	CODE(clSetUserEventStatus(kev, CL_COMPLETE), CL_INVALID_EVENT);
	CODE(clWaitForEvents(1, &mev), CL_SUCCESS);
	CHECK(out[0] == 42, "after the user event: out[0] = %d", out[0]);
	CODE(clGetEventInfo(mev, CL_EVENT_COMMAND_TYPE, sizeof ct, &ct, NULL), CL_SUCCESS);
	CHECK(ct == CL_COMMAND_MARKER, "command type %#x", ct);
	CODE(clReleaseEvent(kev), CL_SUCCESS);
	CODE(clReleaseEvent(mev), CL_SUCCESS);

	// A user event that fails fails what waits for it.
	cl_event ue2 = clCreateUserEvent(c, &err);
	cl_event bev;
	ncalls = 0;
	CODE(clEnqueueBarrierWithWaitList(q, 1, &ue2, &bev), CL_SUCCESS);
	CODE(clSetEventCallback(bev, CL_COMPLETE, on_event, NULL), CL_SUCCESS);
	CODE(clSetUserEventStatus(ue2, -1234), CL_SUCCESS);
	CODE(clWaitForEvents(1, &bev), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	CODE(clGetEventInfo(bev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, "barrier status %d", st);
	CODE(clFinish(q), CL_SUCCESS);
	CHECK(ncalls == 1 && calls[0] == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, "callback: %d calls, status %d",
	      ncalls, calls[0]);
	CODE(clGetEventInfo(ue2, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
	CHECK(st == -1234, "user event status %d", st);
	// A callback registered after completion is called at once.
	ncalls = 0;
	CODE(clSetEventCallback(ue, CL_COMPLETE, on_event, NULL), CL_SUCCESS);
	CHECK(ncalls == 1 && calls[0] == CL_COMPLETE, "late callback: %d calls, status %d", ncalls, calls[0]);
	CODE(clRetainEvent(ue), CL_SUCCESS);
	CODE(clGetEventInfo(ue, CL_EVENT_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CHECK(u == 2, "reference count %u", u);
	CODE(clReleaseEvent(ue), CL_SUCCESS);
	CODE(clReleaseEvent(ue), CL_SUCCESS);
	CODE(clReleaseEvent(ue2), CL_SUCCESS);
	CODE(clReleaseEvent(bev), CL_SUCCESS);
	CODE(clEnqueueMarker(q, &mev), CL_SUCCESS);
	CODE(clEnqueueBarrier(q), CL_SUCCESS);
	CODE(clEnqueueWaitForEvents(q, 1, &mev), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	CODE(clReleaseEvent(mev), CL_SUCCESS);

	CODE(clReleaseKernel(clone), CL_SUCCESS);
	CODE(clReleaseKernel(grid), CL_SUCCESS);
	CODE(clReleaseKernel(fill), CL_SUCCESS);
	CODE(clReleaseKernel(fill), CL_INVALID_KERNEL);
	// The program is gone with its last kernel, after its last release.
	CODE(clGetProgramInfo(prog, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
	CODE(clReleaseProgram(prog), CL_SUCCESS);
	CODE(clGetProgramInfo(prog, CL_PROGRAM_REFERENCE_COUNT, sizeof u, &u, NULL), CL_INVALID_PROGRAM);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(c), CL_SUCCESS);
	free(out);

out:
	printf("kernels: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
