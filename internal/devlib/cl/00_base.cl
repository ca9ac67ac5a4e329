// svmrt device library: shared macros. Written for svmrt from the OpenCL C
// 3.0 specification; signatures follow clang-15's opencl-c.h.
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable

#define OVL __attribute__((overloadable))

// ---- runtime ABI (plain C names, implemented by the svmrt C runtime) ----
ulong __svm_global_id(uint);
ulong __svm_local_id(uint);
ulong __svm_group_id(uint);
ulong __svm_global_size(uint);
ulong __svm_local_size(uint);
ulong __svm_enqueued_local_size(uint);
ulong __svm_num_groups(uint);
ulong __svm_global_offset(uint);
uint __svm_work_dim(void);
ulong __svm_global_linear_id(void);
ulong __svm_local_linear_id(void);
uint __svm_addr_space(__private const void *); // 1 global, 3 local, 0 private
void __svm_barrier(uint);
void __svm_fence(uint);

// ---- libm functions clang has no __builtin_ for (C names via asm labels,
// because the OpenCL names are taken by the overloadable builtins) ----
float __svm_libm_exp10f(float) __asm__("exp10f");
double __svm_libm_exp10(double) __asm__("exp10");
float __svm_libm_lgammaf_r(float, __private int *) __asm__("lgammaf_r");
double __svm_libm_lgamma_r(double, __private int *) __asm__("lgamma_r");

// NOTE: inside this file a call to a builtin resolves only among the
// overloads this file has already declared or defined (clang-15 does not
// see the default header's declarations of a name once the file redeclares
// it), so every function is defined before the functions that call it.

// ---- address-space lists for pointer-taking builtins ----
// With the generic address space (CL2.0/3.0) the header declares one generic
// overload; without it (CL1.2) one per named address space.
#if defined(__opencl_c_generic_address_space)
#define FOR_PTR_AS(M, ...) M(, __VA_ARGS__)
#define FOR_LOAD_AS(M, ...) M(, __VA_ARGS__) M(__constant, __VA_ARGS__)
#else
// __private first: the other expansions call the __private overloads.
#define FOR_PTR_AS(M, ...) M(__private, __VA_ARGS__) M(__global, __VA_ARGS__) M(__local, __VA_ARGS__)
#define FOR_LOAD_AS(M, ...) FOR_PTR_AS(M, __VA_ARGS__) M(__constant, __VA_ARGS__)
#endif

// ---- type lists ----
#define FOR_SINT(M, ...) M(char, __VA_ARGS__) M(short, __VA_ARGS__) M(int, __VA_ARGS__) M(long, __VA_ARGS__)
#define FOR_UINT(M, ...) M(uchar, __VA_ARGS__) M(ushort, __VA_ARGS__) M(uint, __VA_ARGS__) M(ulong, __VA_ARGS__)
#define FOR_INT(M, ...) FOR_SINT(M, __VA_ARGS__) FOR_UINT(M, __VA_ARGS__)
#define FOR_FLT(M, ...) M(float, __VA_ARGS__) M(double, __VA_ARGS__)
#define FOR_ALL(M, ...) FOR_INT(M, __VA_ARGS__) FOR_FLT(M, __VA_ARGS__)

// Per-type properties: the unsigned and signed integer types of the same
// width, the bit width.
#define UT_char uchar
#define UT_uchar uchar
#define UT_short ushort
#define UT_ushort ushort
#define UT_int uint
#define UT_uint uint
#define UT_long ulong
#define UT_ulong ulong
#define UT_float uint
#define UT_double ulong
#define ST_char char
#define ST_uchar char
#define ST_short short
#define ST_ushort short
#define ST_int int
#define ST_uint int
#define ST_long long
#define ST_ulong long
#define ST_float int
#define ST_double long
#define BITS_char 8
#define BITS_uchar 8
#define BITS_short 16
#define BITS_ushort 16
#define BITS_int 32
#define BITS_uint 32
#define BITS_long 64
#define BITS_ulong 64
#define BITS_float 32
#define BITS_double 64
#define CAT(a, b) CAT_(a, b)
#define CAT_(a, b) a##b
#define CAT3(a, b, c) CAT(CAT(a, b), c)
#define UT(T) CAT(UT_, T)
#define ST(T) CAT(ST_, T)
#define BITS(T) CAT(BITS_, T)

// ---- component-wise vector expansion ----
// VECn: define F on the 2,3,4,8,16-wide vectors of the types by applying it
// to the components (2, 3) or to the halves (4, 8, 16), which resolves to the
// narrower overload.
#define VEC1(F, R, A)                                                                    \
  R##2 OVL F(A##2 x) { return (R##2)(F(x.s0), F(x.s1)); }                                \
  R##3 OVL F(A##3 x) { return (R##3)(F(x.s0), F(x.s1), F(x.s2)); }                       \
  R##4 OVL F(A##4 x) { return (R##4)(F(x.lo), F(x.hi)); }                                \
  R##8 OVL F(A##8 x) { return (R##8)(F(x.lo), F(x.hi)); }                                \
  R##16 OVL F(A##16 x) { return (R##16)(F(x.lo), F(x.hi)); }
#define VEC2(F, R, A, B)                                                                 \
  R##2 OVL F(A##2 x, B##2 y) { return (R##2)(F(x.s0, y.s0), F(x.s1, y.s1)); }            \
  R##3 OVL F(A##3 x, B##3 y) { return (R##3)(F(x.s0, y.s0), F(x.s1, y.s1), F(x.s2, y.s2)); } \
  R##4 OVL F(A##4 x, B##4 y) { return (R##4)(F(x.lo, y.lo), F(x.hi, y.hi)); }            \
  R##8 OVL F(A##8 x, B##8 y) { return (R##8)(F(x.lo, y.lo), F(x.hi, y.hi)); }            \
  R##16 OVL F(A##16 x, B##16 y) { return (R##16)(F(x.lo, y.lo), F(x.hi, y.hi)); }
#define VEC3(F, R, A, B, C)                                                              \
  R##2 OVL F(A##2 x, B##2 y, C##2 z) { return (R##2)(F(x.s0, y.s0, z.s0), F(x.s1, y.s1, z.s1)); } \
  R##3 OVL F(A##3 x, B##3 y, C##3 z) {                                                   \
    return (R##3)(F(x.s0, y.s0, z.s0), F(x.s1, y.s1, z.s1), F(x.s2, y.s2, z.s2));        \
  }                                                                                      \
  R##4 OVL F(A##4 x, B##4 y, C##4 z) { return (R##4)(F(x.lo, y.lo, z.lo), F(x.hi, y.hi, z.hi)); } \
  R##8 OVL F(A##8 x, B##8 y, C##8 z) { return (R##8)(F(x.lo, y.lo, z.lo), F(x.hi, y.hi, z.hi)); } \
  R##16 OVL F(A##16 x, B##16 y, C##16 z) { return (R##16)(F(x.lo, y.lo, z.lo), F(x.hi, y.hi, z.hi)); }
// Vector first argument(s), scalar last one(s) broadcast.
#define VEC2S(F, R, A, B)                                                                \
  R##2 OVL F(A##2 x, B y) { return F(x, (B##2)(y)); }                                    \
  R##3 OVL F(A##3 x, B y) { return F(x, (B##3)(y)); }                                    \
  R##4 OVL F(A##4 x, B y) { return F(x, (B##4)(y)); }                                    \
  R##8 OVL F(A##8 x, B y) { return F(x, (B##8)(y)); }                                    \
  R##16 OVL F(A##16 x, B y) { return F(x, (B##16)(y)); }
#define VEC3SS(F, R, A, B)                                                               \
  R##2 OVL F(A##2 x, B y, B z) { return F(x, (B##2)(y), (B##2)(z)); }                    \
  R##3 OVL F(A##3 x, B y, B z) { return F(x, (B##3)(y), (B##3)(z)); }                    \
  R##4 OVL F(A##4 x, B y, B z) { return F(x, (B##4)(y), (B##4)(z)); }                    \
  R##8 OVL F(A##8 x, B y, B z) { return F(x, (B##8)(y), (B##8)(z)); }                    \
  R##16 OVL F(A##16 x, B y, B z) { return F(x, (B##16)(y), (B##16)(z)); }
// Pointer out-parameter: F(x, AS P *out).
#define VECP(AS, F, R, A, P)                                                             \
  R##2 OVL F(A##2 x, AS P##2 *o) { P a, b; R##2 r = (R##2)(F(x.s0, &a), F(x.s1, &b)); *o = (P##2)(a, b); return r; } \
  R##3 OVL F(A##3 x, AS P##3 *o) {                                                       \
    P a, b, c; R##3 r = (R##3)(F(x.s0, &a), F(x.s1, &b), F(x.s2, &c)); *o = (P##3)(a, b, c); return r; \
  }                                                                                      \
  R##4 OVL F(A##4 x, AS P##4 *o) { P##2 a, b; R##4 r = (R##4)(F(x.lo, &a), F(x.hi, &b)); *o = (P##4)(a, b); return r; } \
  R##8 OVL F(A##8 x, AS P##8 *o) { P##4 a, b; R##8 r = (R##8)(F(x.lo, &a), F(x.hi, &b)); *o = (P##8)(a, b); return r; } \
  R##16 OVL F(A##16 x, AS P##16 *o) { P##8 a, b; R##16 r = (R##16)(F(x.lo, &a), F(x.hi, &b)); *o = (P##16)(a, b); return r; }
#define VECP2(AS, F, R, A, P)                                                            \
  R##2 OVL F(A##2 x, A##2 y, AS P##2 *o) { P a, b; R##2 r = (R##2)(F(x.s0, y.s0, &a), F(x.s1, y.s1, &b)); *o = (P##2)(a, b); return r; } \
  R##3 OVL F(A##3 x, A##3 y, AS P##3 *o) {                                               \
    P a, b, c; R##3 r = (R##3)(F(x.s0, y.s0, &a), F(x.s1, y.s1, &b), F(x.s2, y.s2, &c)); *o = (P##3)(a, b, c); return r; \
  }                                                                                      \
  R##4 OVL F(A##4 x, A##4 y, AS P##4 *o) { P##2 a, b; R##4 r = (R##4)(F(x.lo, y.lo, &a), F(x.hi, y.hi, &b)); *o = (P##4)(a, b); return r; } \
  R##8 OVL F(A##8 x, A##8 y, AS P##8 *o) { P##4 a, b; R##8 r = (R##8)(F(x.lo, y.lo, &a), F(x.hi, y.hi, &b)); *o = (P##8)(a, b); return r; } \
  R##16 OVL F(A##16 x, A##16 y, AS P##16 *o) { P##8 a, b; R##16 r = (R##16)(F(x.lo, y.lo, &a), F(x.hi, y.hi, &b)); *o = (P##16)(a, b); return r; }
