// link.c: an OpenCL host program that checks svmrt's separate compilation
// and linking through the ICD loader: units compiled with an embedded
// header, a library made of compiled units, executables linked from units
// and libraries whose kernels call functions other units define (and
// static functions of the same name in two units, which stay apart), the
// binaries of compiled objects, libraries and linked executables, and the
// errors: an undefined symbol, a symbol two units define, inputs that are
// not compiled, a build that calls a function nothing defines.
//
// Exits 0 only when every check passes; each failure is printed.
#include "common.h"

// The header every unit includes: the functions the units share.
static const char *header = "#define FACTOR 3\n"
			    "int scale(int x);\n"
			    "int offset(int x);\n"
			    "int square(int x);\n";

// The kernel's unit: calls scale (unit B), offset and square (the library).
// Its static helper has the name of unit B's and returns another value.
static const char *unit_a = "#include \"inc/shared.h\"\n"
			    "static int helper(void) { return 1000; }\n"
			    "__kernel void combine(__global int *out, __global const int *in) {\n"
			    "\tsize_t i = get_global_id(0);\n"
			    "\tout[i] = scale(in[i]) + offset(in[i]) + square(in[i]) + helper();\n"
			    "}\n";
static const char *unit_b = "#include \"inc/shared.h\"\n"
			    "static int helper(void) { return 0; }\n"
			    "int scale(int x) { return FACTOR * x + helper(); }\n";
static const char *lib_offset = "int offset(int x) { return x + 7; }\n";
// lib_square's program-scope variable is the linked executable's only one:
// its CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE is 8.
static const char *lib_square = "int square(int x) { return x * x; }\n"
				"__global long squares_run;\n"
				"__kernel void squares(__global int *out) { out[get_global_id(0)] = square((int)get_global_id(0)); squares_run = 1; }\n";

// want is what combine computes for in[i] = i.
static int want(int i) { return 3 * i + (i + 7) + i * i + 1000; }

static char logbuf[8192];

static cl_program compile(cl_context c, cl_device_id d, const char *src, cl_program hp) {
	cl_int err;
	cl_program p = clCreateProgramWithSource(c, 1, &src, NULL, &err);
	CODE(err, CL_SUCCESS);
	const char *name = "inc/shared.h";
	CODE(clCompileProgram(p, 1, &d, NULL, hp ? 1 : 0, hp ? &hp : NULL, hp ? &name : NULL, NULL, NULL), CL_SUCCESS);
	return p;
}

// run launches combine of exe over n items of in[i] = i and counts wrong
// results.
static int run(cl_command_queue q, cl_program exe, int n) {
	cl_int err;
	cl_kernel k = clCreateKernel(exe, "combine", &err);
	CODE(err, CL_SUCCESS);
	if (!k)
		return n;
	int *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
	for (int i = 0; i < n; i++)
		in[i] = i, out[i] = -1;
	CODE(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	CODE(clSetKernelArgSVMPointer(k, 1, in), CL_SUCCESS);
	size_t global = n;
	CODE(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
	CODE(clFinish(q), CL_SUCCESS);
	int wrong = 0;
	for (int i = 0; i < n; i++) {
		if (out[i] != want(i)) {
			if (wrong++ == 0)
				printf("combine: out[%d] = %d, want %d\n", i, out[i], want(i));
		}
	}
	CODE(clReleaseKernel(k), CL_SUCCESS);
	free(in);
	free(out);
	return wrong;
}

static cl_program from_binary(cl_context c, cl_device_id d, cl_program p, unsigned char **keep) {
	size_t size = 0;
	cl_int err, st = -1;
	CODE(clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL), CL_SUCCESS);
	CHECK(size > 0, "binary size %zu", size);
	*keep = malloc(size ? size : 1);
	CODE(clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof *keep, keep, NULL), CL_SUCCESS);
	const unsigned char *bin = *keep;
	cl_program q = clCreateProgramWithBinary(c, 1, &d, &size, &bin, &st, &err);
	CODE(err, CL_SUCCESS);
	CODE(st, CL_SUCCESS);
	return q;
}

static cl_program_binary_type bintype(cl_program p, cl_device_id d) {
	cl_program_binary_type bt = 0;
	CODE(clGetProgramBuildInfo(p, d, CL_PROGRAM_BINARY_TYPE, sizeof bt, &bt, NULL), CL_SUCCESS);
	return bt;
}

static const char *buildlog(cl_program p, cl_device_id d) {
	logbuf[0] = 0;
	CODE(clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, sizeof logbuf, logbuf, NULL), CL_SUCCESS);
	return logbuf;
}

int main(void) {
	cl_platform_id plat;
	cl_device_id d;
	cl_context c;
	cl_command_queue q;
	cl_int err;
	if (!setup(&plat, &d, &c, &q))
		goto out;
	const int n = 1000;

	cl_program hp = clCreateProgramWithSource(c, 1, &header, NULL, &err);
	CODE(err, CL_SUCCESS);
	cl_program a = compile(c, d, unit_a, hp), b = compile(c, d, unit_b, hp);
	cl_program lo = compile(c, d, lib_offset, NULL), ls = compile(c, d, lib_square, NULL);
	CHECK(bintype(a, d) == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT, "unit a's binary type %u", (unsigned)bintype(a, d));

	// A library of two units, then an executable of two units and the
	// library.
	cl_program units[] = {lo, ls};
	cl_program lib = clLinkProgram(c, 1, &d, "-create-library", 2, units, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CHECK(bintype(lib, d) == CL_PROGRAM_BINARY_TYPE_LIBRARY, "library's binary type %u", (unsigned)bintype(lib, d));
	CHECK(clCreateKernel(lib, "squares", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
	cl_program all[] = {a, b, lib};
	cl_program exe = clLinkProgram(c, 1, &d, "-cl-fast-relaxed-math", 3, all, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CHECK(bintype(exe, d) == CL_PROGRAM_BINARY_TYPE_EXECUTABLE, "executable's binary type %u", (unsigned)bintype(exe, d));
	char names[256] = "";
	CODE(clGetProgramInfo(exe, CL_PROGRAM_KERNEL_NAMES, sizeof names, names, NULL), CL_SUCCESS);
	CHECK(strstr(names, "combine") && strstr(names, "squares"), "kernel names %s", names);
	CHECK(run(q, exe, n) == 0, "the linked executable computes wrong results");
	size_t gvs = 0;
	CODE(clGetProgramBuildInfo(exe, d, CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE, sizeof gvs, &gvs, NULL), CL_SUCCESS);
	CHECK(gvs == 8, "the executable's global variables take %zu bytes, want 8 (one long)", gvs);
	CODE(clBuildProgram(exe, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION); // not from source

	// The same from binaries: a compiled object, a library, and then the
	// linked executable's own binary, built.
	unsigned char *bb, *lb, *eb;
	cl_program b2 = from_binary(c, d, b, &bb), lib2 = from_binary(c, d, lib, &lb);
	CHECK(bintype(b2, d) == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT, "object from binary: type %u", (unsigned)bintype(b2, d));
	CHECK(bintype(lib2, d) == CL_PROGRAM_BINARY_TYPE_LIBRARY, "library from binary: type %u", (unsigned)bintype(lib2, d));
	CODE(clCompileProgram(b2, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION); // no source
	cl_program again[] = {a, b2, lib2};
	// The options of the first link: the same bitcode and options are
	// the same build (the cache's), which keeps the test quick.
	cl_program exe2 = clLinkProgram(c, 0, NULL, "-cl-fast-relaxed-math", 3, again, NULL, NULL, &err);
	CODE(err, CL_SUCCESS);
	CHECK(run(q, exe2, n) == 0, "the executable linked from binaries computes wrong results");
	cl_program exe3 = from_binary(c, d, exe2, &eb);
	CHECK(clCreateKernel(exe3, "combine", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
	CODE(clBuildProgram(exe3, 1, &d, NULL, NULL, NULL), CL_SUCCESS);
	CHECK(run(q, exe3, n) == 0, "the executable built from its binary computes wrong results");

	// An undefined symbol: a program whose log names it.
	cl_program ab[] = {a, b};
	cl_program undef = clLinkProgram(c, 0, NULL, NULL, 2, ab, NULL, NULL, &err);
	CHECK(undef != NULL && err == CL_LINK_PROGRAM_FAILURE, "undefined offset: err %d", err);
	if (undef) {
		cl_build_status bs = 0;
		CODE(clGetProgramBuildInfo(undef, d, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL), CL_SUCCESS);
		CHECK(bs == CL_BUILD_ERROR, "status %d", bs);
		CHECK(strstr(buildlog(undef, d), "undefined symbol 'offset'") && !strstr(logbuf, "'scale'"), "log: %s", logbuf);
		CHECK(clCreateKernel(undef, "combine", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "err %d", err);
		CODE(clReleaseProgram(undef), CL_SUCCESS);
	}
	// A symbol two inputs define.
	cl_program bb2[] = {b, b2};
	cl_program dup = clLinkProgram(c, 0, NULL, NULL, 2, bb2, NULL, NULL, &err);
	CHECK(dup != NULL && err == CL_LINK_PROGRAM_FAILURE, "scale twice: err %d", err);
	if (dup) {
		CHECK(strstr(buildlog(dup, d), "scale") && strstr(logbuf, "multiply defined"), "log: %s", logbuf);
		CODE(clReleaseProgram(dup), CL_SUCCESS);
	}
	// Inputs that are not compiled objects or libraries: an executable,
	// a program never compiled, a unit whose compile failed.
	cl_program bad[] = {a, exe};
	CHECK(clLinkProgram(c, 0, NULL, NULL, 2, bad, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	bad[1] = hp;
	CHECK(clLinkProgram(c, 0, NULL, NULL, 2, bad, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	const char *broken = "int scale(int x) { return x +; }\n";
	cl_program bp = clCreateProgramWithSource(c, 1, &broken, NULL, &err);
	CODE(clCompileProgram(bp, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL), CL_COMPILE_PROGRAM_FAILURE);
	CHECK(strstr(buildlog(bp, d), ":1:") && strstr(logbuf, "error"), "compile log: %s", logbuf);
	bad[1] = bp;
	CHECK(clLinkProgram(c, 0, NULL, NULL, 2, bad, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION, "err %d", err);
	CODE(clReleaseProgram(bp), CL_SUCCESS);
	CHECK(clLinkProgram(c, 0, NULL, "-create-library -frobnicate", 2, ab, NULL, NULL, &err) == NULL &&
		  err == CL_INVALID_LINKER_OPTIONS,
	      "err %d", err);

	// clBuildProgram of a source whose kernel calls a function nothing
	// defines: a build failure naming it.
	const char *calls = "int missing_fn(int);\n__kernel void k(__global int *o) { o[0] = missing_fn(1); }\n";
	cl_program cp = clCreateProgramWithSource(c, 1, &calls, NULL, &err);
	CODE(clBuildProgram(cp, 1, &d, NULL, NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	CHECK(strstr(buildlog(cp, d), "undefined symbol 'missing_fn'") && strstr(logbuf, ":2"), "log: %s", logbuf);
	CODE(clReleaseProgram(cp), CL_SUCCESS);

	cl_program rel[] = {exe3, exe2, lib2, b2, exe, lib, ls, lo, b, a, hp};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
		CODE(clReleaseProgram(rel[i]), CL_SUCCESS);
	free(bb);
	free(lb);
	free(eb);
	CODE(clReleaseCommandQueue(q), CL_SUCCESS);
	CODE(clReleaseContext(c), CL_SUCCESS);

out:
	printf("link: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
