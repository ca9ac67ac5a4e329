// ---- math functions (s6.15.2), float and double, scalars and vectors ----
#define PI_F 0x1.921fb6p+1f
#define PI_D 0x1.921fb54442d18p+1

// Unary functions with a libm counterpart: name(float) -> __builtin_namef.
#define MU(N)                                                                            \
  float OVL N(float x) { return __builtin_##N##f(x); }                                   \
  double OVL N(double x) { return __builtin_##N(x); }                                    \
  VEC1(N, float, float) VEC1(N, double, double)
#define MB(N)                                                                            \
  float OVL N(float x, float y) { return __builtin_##N##f(x, y); }                       \
  double OVL N(double x, double y) { return __builtin_##N(x, y); }                       \
  VEC2(N, float, float, float) VEC2(N, double, double, double)
MU(acos) MU(acosh) MU(asin) MU(asinh) MU(atan) MU(atanh) MU(cbrt) MU(ceil) MU(cos) MU(cosh)
MU(erf) MU(erfc) MU(exp) MU(exp2) MU(expm1) MU(fabs) MU(floor) MU(lgamma) MU(log) MU(log2)
MU(log10) MU(log1p) MU(logb) MU(rint) MU(round) MU(sin) MU(sinh) MU(sqrt) MU(tan) MU(tanh)
MU(tgamma) MU(trunc)
MB(atan2) MB(copysign) MB(fdim) MB(fmod) MB(hypot) MB(nextafter) MB(pow) MB(remainder)
MB(fmax) MB(fmin)
VEC2S(fmax, float, float, float) VEC2S(fmax, double, double, double)
VEC2S(fmin, float, float, float) VEC2S(fmin, double, double, double)

// Unary/binary functions defined by an expression in x (and y).
#define MXU(N, EF, ED)                                                                   \
  float OVL N(float x) { return EF; }                                                    \
  double OVL N(double x) { return ED; }                                                  \
  VEC1(N, float, float) VEC1(N, double, double)
#define MXB(N, EF, ED)                                                                   \
  float OVL N(float x, float y) { return EF; }                                           \
  double OVL N(double x, double y) { return ED; }                                        \
  VEC2(N, float, float, float) VEC2(N, double, double, double)

MXU(exp10, __svm_libm_exp10f(x), __svm_libm_exp10(x))
MXU(rsqrt, (float)(1.0 / __builtin_sqrt((double)x)), 1.0 / __builtin_sqrt(x))
MXU(acospi, (float)(__builtin_acos((double)x) / PI_D), __builtin_acos(x) / PI_D)
MXU(asinpi, (float)(__builtin_asin((double)x) / PI_D), __builtin_asin(x) / PI_D)
MXU(atanpi, (float)(__builtin_atan((double)x) / PI_D), __builtin_atan(x) / PI_D)
MXB(atan2pi, (float)(__builtin_atan2((double)x, (double)y) / PI_D), __builtin_atan2(x, y) / PI_D)
MXB(powr, (x < 0.0f) ? __builtin_nanf("") : __builtin_powf(x, y), (x < 0.0) ? __builtin_nan("") : __builtin_pow(x, y))
MXB(maxmag, __builtin_fabsf(x) > __builtin_fabsf(y) ? x : __builtin_fabsf(y) > __builtin_fabsf(x) ? y : __builtin_fmaxf(x, y),
    __builtin_fabs(x) > __builtin_fabs(y) ? x : __builtin_fabs(y) > __builtin_fabs(x) ? y : __builtin_fmax(x, y))
MXB(minmag, __builtin_fabsf(x) < __builtin_fabsf(y) ? x : __builtin_fabsf(y) < __builtin_fabsf(x) ? y : __builtin_fminf(x, y),
    __builtin_fabs(x) < __builtin_fabs(y) ? x : __builtin_fabs(y) < __builtin_fabs(x) ? y : __builtin_fmin(x, y))

// sinpi/cospi/tanpi: reduce x modulo 2 exactly (fmod is exact) before
// multiplying by pi, so large arguments keep their accuracy.
static double __svm_sinpi(double x) {
  double r = __builtin_fmod(x, 2.0); // (-2, 2), sign of x
  double a = __builtin_fabs(r);
  if (a == 0.0 || a == 1.0) return __builtin_copysign(0.0, x);
  if (a == 0.5) return r > 0 ? 1.0 : -1.0;
  if (a == 1.5) return r > 0 ? -1.0 : 1.0;
  return __builtin_sin(r * PI_D);
}
static double __svm_cospi(double x) {
  double a = __builtin_fabs(__builtin_fmod(x, 2.0));
  if (a == 0.5 || a == 1.5) return 0.0;
  if (a == 0.0) return 1.0;
  if (a == 1.0) return -1.0;
  return __builtin_cos(a * PI_D);
}
static double __svm_tanpi(double x) {
  double r = __builtin_fmod(x, 1.0); // tan has period pi
  double a = __builtin_fabs(r);
  if (a == 0.0) return __builtin_copysign(0.0, x);
  if (a == 0.5) return __builtin_copysign(__builtin_inf(), r);
  if (a == 0.25) return r > 0 ? 1.0 : -1.0;
  if (a == 0.75) return r > 0 ? -1.0 : 1.0;
  return __builtin_tan(r * PI_D);
}
MXU(sinpi, (float)__svm_sinpi(x), __svm_sinpi(x))
MXU(cospi, (float)__svm_cospi(x), __svm_cospi(x))
MXU(tanpi, (float)__svm_tanpi(x), __svm_tanpi(x))

// fma, mad
float OVL fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
double OVL fma(double a, double b, double c) { return __builtin_fma(a, b, c); }
VEC3(fma, float, float, float, float) VEC3(fma, double, double, double, double)
float OVL mad(float a, float b, float c) { return a * b + c; }
double OVL mad(double a, double b, double c) { return a * b + c; }
VEC3(mad, float, float, float, float) VEC3(mad, double, double, double, double)

// ilogb, ldexp, nan, pown, rootn
int OVL ilogb(float x) { return __builtin_ilogbf(x); }
int OVL ilogb(double x) { return __builtin_ilogb(x); }
VEC1(ilogb, int, float) VEC1(ilogb, int, double)
float OVL ldexp(float x, int n) { return __builtin_ldexpf(x, n); }
double OVL ldexp(double x, int n) { return __builtin_ldexp(x, n); }
VEC2(ldexp, float, float, int) VEC2(ldexp, double, double, int)
VEC2S(ldexp, float, float, int) VEC2S(ldexp, double, double, int)
float OVL nan(uint c) { return as_float(0x7fc00000u | (c & 0x003fffffu)); }
double OVL nan(ulong c) { return as_double(0x7ff8000000000000ul | (c & 0x0007fffffffffffful)); }
VEC1(nan, float, uint) VEC1(nan, double, ulong)
float OVL pown(float x, int n) { return (float)__builtin_pow((double)x, (double)n); }
double OVL pown(double x, int n) { return __builtin_pow(x, (double)n); }
VEC2(pown, float, float, int) VEC2(pown, double, double, int)
static double __svm_rootn(double x, int n) {
  if (n == 0) return __builtin_nan("");
  if (x < 0.0) {
    if ((n & 1) == 0) return __builtin_nan("");
    return -__builtin_pow(-x, 1.0 / (double)n);
  }
  if (x == 0.0) return n > 0 ? x : __builtin_copysign(__builtin_inf(), x);
  return __builtin_pow(x, 1.0 / (double)n);
}
float OVL rootn(float x, int n) { return (float)__svm_rootn((double)x, n); }
double OVL rootn(double x, int n) { return __svm_rootn(x, n); }
VEC2(rootn, float, float, int) VEC2(rootn, double, double, int)

// Pointer out-parameter functions: scalar bodies compute into a private
// temporary, then store through the caller's pointer.
#define MPTR(AS, _)                                                                      \
  float OVL frexp(float x, AS int *e) { int t; float r = __builtin_frexpf(x, &t); *e = t; return r; } \
  double OVL frexp(double x, AS int *e) { int t; double r = __builtin_frexp(x, &t); *e = t; return r; } \
  float OVL modf(float x, AS float *i) { float t; float r = __builtin_modff(x, &t); *i = t; return r; } \
  double OVL modf(double x, AS double *i) { double t; double r = __builtin_modf(x, &t); *i = t; return r; } \
  float OVL fract(float x, AS float *i) {                                                \
    float f = __builtin_floorf(x); *i = f;                                               \
    if (__builtin_isinf(x)) return __builtin_copysignf(0.0f, x);                         \
    return __builtin_fminf(x - f, 0x1.fffffep-1f);                                       \
  }                                                                                      \
  double OVL fract(double x, AS double *i) {                                             \
    double f = __builtin_floor(x); *i = f;                                               \
    if (__builtin_isinf(x)) return __builtin_copysign(0.0, x);                           \
    return __builtin_fmin(x - f, 0x1.fffffffffffffp-1);                                  \
  }                                                                                      \
  float OVL sincos(float x, AS float *c) { *c = __builtin_cosf(x); return __builtin_sinf(x); } \
  double OVL sincos(double x, AS double *c) { *c = __builtin_cos(x); return __builtin_sin(x); } \
  float OVL lgamma_r(float x, AS int *s) { int t; float r = __svm_libm_lgammaf_r(x, &t); *s = t; return r; } \
  double OVL lgamma_r(double x, AS int *s) { int t; double r = __svm_libm_lgamma_r(x, &t); *s = t; return r; } \
  float OVL remquo(float x, float y, AS int *q) { int t; float r = __builtin_remquof(x, y, &t); *q = t; return r; } \
  double OVL remquo(double x, double y, AS int *q) { int t; double r = __builtin_remquo(x, y, &t); *q = t; return r; } \
  VECP(AS, frexp, float, float, int) VECP(AS, frexp, double, double, int)                \
  VECP(AS, modf, float, float, float) VECP(AS, modf, double, double, double)             \
  VECP(AS, fract, float, float, float) VECP(AS, fract, double, double, double)           \
  VECP(AS, sincos, float, float, float) VECP(AS, sincos, double, double, double)         \
  VECP(AS, lgamma_r, float, float, int) VECP(AS, lgamma_r, double, double, int)          \
  VECP2(AS, remquo, float, float, int) VECP2(AS, remquo, double, double, int)
FOR_PTR_AS(MPTR, )

// half_* and native_*: the full-precision functions (allowed: they only
// bound the error from above).
#define HN1(P, N)                                                                        \
  float OVL P##_##N(float x) { return N(x); }                                            \
  VEC1(P##_##N, float, float)
#define HN2(P, N, E)                                                                     \
  float OVL P##_##N(float x, float y) { return E; }                                      \
  VEC2(P##_##N, float, float, float)
#define HNALL(P)                                                                         \
  HN1(P, cos) HN1(P, exp) HN1(P, exp2) HN1(P, exp10) HN1(P, log) HN1(P, log2) HN1(P, log10) \
  HN1(P, rsqrt) HN1(P, sin) HN1(P, sqrt) HN1(P, tan)                                     \
  HN2(P, divide, x / y) HN2(P, powr, powr(x, y))                                         \
  float OVL P##_recip(float x) { return 1.0f / x; }                                      \
  VEC1(P##_recip, float, float)
HNALL(half)
HNALL(native)
