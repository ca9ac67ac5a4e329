package devlib

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The native test links devlib with test kernels into an x86-64 executable
// (llvm-link, opt -O2, llc, clang) together with a C harness that implements
// the __svm_* work-item ABI for a sequential 1-D loop over work-items (local
// size 1) and checks every result against libm / exact C references.

const nativeKernels = `
kernel void kwi(global ulong *o) {
  size_t i = get_global_id(0);
  global ulong *p = o + i * 10;
  p[0] = get_global_id(0); p[1] = get_global_size(0); p[2] = get_local_size(0); p[3] = get_group_id(0);
  p[4] = get_num_groups(0); p[5] = get_work_dim(); p[6] = get_global_id(1); p[7] = get_local_size(2);
  p[8] = get_global_linear_id(); p[9] = get_local_id(0) + get_enqueued_local_size(0) + get_global_offset(0);
}
kernel void kmath(global const float *x, global float *o, global const double *xd, global double *od) {
  size_t i = get_global_id(0);
  float v = x[i]; double w = xd[i];
  global float *p = o + i * 16;
  p[0] = sin(v); p[1] = cos(v); p[2] = exp(v); p[3] = log(v); p[4] = sqrt(v); p[5] = cbrt(v);
  p[6] = pow(v, 1.5f); p[7] = tanh(v); p[8] = erf(v); p[9] = tgamma(v); p[10] = sinpi(v); p[11] = rootn(v, 3);
  float4 s4 = sin((float4)(v, v + 1.0f, v + 2.0f, v + 3.0f)); p[12] = s4.w;
  float16 e16 = exp2((float16)(v)); p[13] = e16.sf;
  float c; p[14] = sincos(v, &c); p[15] = c;
  global double *q = od + i * 8;
  q[0] = sin(w); q[1] = exp(w); q[2] = log(w); q[3] = pow(w, 2.5); q[4] = atan2(w, 2.0); q[5] = lgamma(w);
  q[6] = fma(w, w, 1.0); int e; q[7] = frexp(w, &e) + e;
}
kernel void kint(global const long *a, global const long *b, global long *o) {
  size_t i = get_global_id(0);
  long x = a[i], y = b[i];
  global long *p = o + i * 16;
  p[0] = mul_hi(x, y); p[1] = (long)mul_hi((ulong)x, (ulong)y); p[2] = mad_sat(x, y, x);
  p[3] = (long)mad_sat((ulong)x, (ulong)y, (ulong)x); p[4] = add_sat(x, y); p[5] = sub_sat(x, y);
  p[6] = hadd(x, y); p[7] = rhadd(x, y); p[8] = clz(x); p[9] = ctz(x); p[10] = popcount(x);
  p[11] = rotate(x, y); p[12] = (long)abs_diff(x, y); p[13] = mul_hi((int)x, (int)y);
  p[14] = add_sat((char)x, (char)y); p[15] = upsample((int)x, (uint)y);
}
kernel void kconv(global const float *f, global const double *d, global const long *l, global int *o, global float *of) {
  size_t i = get_global_id(0);
  global int *p = o + i * 8;
  p[0] = convert_int_sat_rte(f[i]); p[1] = convert_int_sat_rtn(f[i]); p[2] = convert_uchar_sat(f[i]);
  p[3] = convert_short_sat_rtp(d[i]); p[4] = (int)convert_uint_sat_rtz(d[i]); p[5] = convert_char_sat(l[i]);
  p[6] = convert_ushort_sat(l[i]); p[7] = convert_int4_sat_rte((float4)(0.0f, f[i], 0.0f, 0.0f)).y;
  global float *q = of + i * 8;
  q[0] = convert_float_rtz(l[i]); q[1] = convert_float_rtp(l[i]); q[2] = convert_float_rtn(l[i]);
  q[3] = convert_float_rtz(d[i]); q[4] = convert_float_rtp(d[i]); q[5] = convert_float_rtn(d[i]);
  q[6] = convert_float(l[i]); q[7] = convert_float8_rtp((long8)(l[i])).s5;
}
kernel void krel(global const float4 *a, global const float4 *b, global int4 *o) {
  size_t i = get_global_id(0);
  global int4 *p = o + i * 6;
  p[0] = isnan(a[i]); p[1] = isless(a[i], b[i]); p[2] = isgreaterequal(a[i], b[i]); p[3] = signbit(a[i]);
  p[4] = select((int4)(1), (int4)(2), isless(a[i], b[i]));
  p[5] = (int4)(any(isnan(a[i])), all(isless(a[i], b[i])), isnan(a[i].x), isinf(a[i].y));
}
kernel void katom(global int *c, global long *cl, global atomic_int *ai, global int *old, global float *fx) {
  size_t i = get_global_id(0);
  global int *p = old + i * 8;
  p[0] = atomic_add(c, (int)i + 1);
  p[1] = atomic_inc(c + 1);
  p[2] = atomic_cmpxchg(c + 2, (int)i, (int)i + 1);
  p[3] = atomic_max(c + 3, (int)(i * 7 % 11));
  p[4] = (int)(atom_add(cl, 1L << 33) >> 33);
  p[5] = atomic_fetch_add_explicit(ai, 2, memory_order_acq_rel, memory_scope_all_svm_devices);
  int e = (int)i;
  p[6] = atomic_compare_exchange_strong_explicit(ai + 1, &e, (int)i + 1, memory_order_seq_cst, memory_order_relaxed, memory_scope_device);
  p[7] = atomic_flag_test_and_set((global atomic_flag *)(c + 4));
  fx[1 + i] = atomic_xchg(fx, (float)i);
}
kernel void khalf(global const float *f, global ushort *o, global ushort *rt) {
  size_t i = get_global_id(0);
  global half *h = (global half *)(o + i * 4);
  vstore_half_rte(f[i], 0, h); vstore_half_rtz(f[i], 1, h); vstore_half_rtp(f[i], 2, h); vstore_half_rtn(f[i], 3, h);
  for (uint k = 0; k < 256; k++) {
    ushort b = (ushort)(i * 256 + k);
    float v = vload_half(0, (const half *)&b);
    vstore_half(v, i * 256 + k, (global half *)rt);
  }
}
kernel void kasync(global const int *src, global int *dst, local int *tmp) {
  event_t ev = async_work_group_copy(tmp, src + get_group_id(0) * 16, 16, 0);
  wait_group_events(1, &ev);
  for (int k = 0; k < 16; k++) dst[get_global_id(0) * 16 + k] = tmp[15 - k];
  barrier(CLK_LOCAL_MEM_FENCE);
  int4 v = vload4(1, tmp);
  vstore4(shuffle(v, (uint4)(3, 2, 1, 0)), get_global_id(0), dst + 1024);
}
`

const nativeHarness = `
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_id, g_n;
static int g_barriers;
uint64_t __svm_global_id(uint32_t d) { return d == 0 ? g_id : 0; }
uint64_t __svm_local_id(uint32_t d) { return 0; }
uint64_t __svm_group_id(uint32_t d) { return d == 0 ? g_id : 0; }
uint64_t __svm_global_size(uint32_t d) { return d == 0 ? g_n : 1; }
uint64_t __svm_local_size(uint32_t d) { return 1; }
uint64_t __svm_enqueued_local_size(uint32_t d) { return 1; }
uint64_t __svm_num_groups(uint32_t d) { return d == 0 ? g_n : 1; }
uint64_t __svm_global_offset(uint32_t d) { return 0; }
uint32_t __svm_work_dim(void) { return 1; }
uint64_t __svm_global_linear_id(void) { return g_id; }
uint64_t __svm_local_linear_id(void) { return 0; }
void __svm_barrier(uint32_t f) { g_barriers++; }
void __svm_fence(uint32_t f) {}

#define RUN(n, call) do { g_n = (n); for (g_id = 0; g_id < g_n; g_id++) call; } while (0)
static int fails, checks;
#define FAILF(...) do { if (fails++ < 60) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(what, i, got, want) do { checks++; if ((long long)(got) != (long long)(want)) FAILF("%s[%d]: got %lld want %lld", what, (int)(i), (long long)(got), (long long)(want)); } while (0)

static int64_t ulpsf(float a, float b) {
  if (isnan(a) && isnan(b)) return 0;
  if (a == b) return 0;
  int32_t x, y; memcpy(&x, &a, 4); memcpy(&y, &b, 4);
  if (x < 0) x = INT32_MIN - x; if (y < 0) y = INT32_MIN - y;
  return llabs((long long)x - y);
}
static int64_t ulpsd(double a, double b) {
  if (isnan(a) && isnan(b)) return 0;
  if (a == b) return 0;
  int64_t x, y; memcpy(&x, &a, 8); memcpy(&y, &b, 8);
  if (x < 0) x = INT64_MIN - x; if (y < 0) y = INT64_MIN - y;
  __int128 d = (__int128)x - y; if (d < 0) d = -d; return d > 1000000 ? 1000000 : (int64_t)d;
}
#define NEARF(what, i, got, want, u) do { checks++; if (ulpsf(got, want) > (u)) FAILF("%s[%d]: got %a want %a", what, (int)(i), (double)(got), (double)(want)); } while (0)
#define NEARD(what, i, got, want, u) do { checks++; if (ulpsd(got, want) > (u)) FAILF("%s[%d]: got %a want %a", what, (int)(i), (double)(got), (double)(want)); } while (0)

void kwi(uint64_t *o);
void kmath(const float *x, float *o, const double *xd, double *od);
void kint(const int64_t *a, const int64_t *b, int64_t *o);
void kconv(const float *f, const double *d, const int64_t *l, int32_t *o, float *of);
void krel(const float *a, const float *b, int32_t *o);
void katom(int32_t *c, int64_t *cl, int32_t *ai, int32_t *old, float *fx);
void khalf(const float *f, uint16_t *o, uint16_t *rt);
void kasync(const int32_t *src, int32_t *dst, int32_t *tmp);

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int64_t sat64(__int128 v) { return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v; }
static double satd(double r, double lo, double hi) { return isnan(r) ? 0 : r < lo ? lo : r > hi ? hi : r; }
static double rnd_mode(double x, int mode) { fesetround(mode); volatile double r = nearbyint(x); fesetround(FE_TONEAREST); return r; }
static float l2f(int64_t x, int mode) { fesetround(mode); volatile int64_t vx = x; volatile float r = (float)vx; fesetround(FE_TONEAREST); return r; }
static float d2f(double x, int mode) { fesetround(mode); volatile double vx = x; volatile float r = (float)vx; fesetround(FE_TONEAREST); return r; }

static double hval(unsigned h) { /* exact value of a half bit pattern (finite) */
  unsigned e = (h >> 10) & 31, m = h & 1023; double v = e ? ldexp(1024 + m, (int)e - 25) : ldexp(m, -24);
  return (h & 0x8000) ? -v : v;
}
/* reference float -> half with a rounding mode, by search over the halves */
static unsigned f2h_ref(float f, int mode) {
  if (isnan(f)) return 0x7e00;
  unsigned s = signbit(f) ? 0x8000 : 0; double a = fabs((double)f);
  if (s) { if (mode == FE_UPWARD) mode = FE_DOWNWARD; else if (mode == FE_DOWNWARD) mode = FE_UPWARD; }
  if (isinf(a)) return s | 0x7c00;
  unsigned lo = 0; while (lo < 0x7bff && hval(lo + 1) <= a) lo++;
  if (hval(lo) == a) return s | lo;
  unsigned hi = lo + 1; double vh = hi == 0x7c00 ? 65536.0 : hval(hi), vl = hval(lo);
  unsigned r;
  if (mode == FE_TOWARDZERO || mode == FE_DOWNWARD) r = lo;
  else if (mode == FE_UPWARD) r = hi;
  else r = (a - vl < vh - a) ? lo : (a - vl > vh - a) ? hi : ((lo & 1) ? hi : lo);
  return s | r;
}

int main(void) {
  enum { N = 64 };
  { uint64_t o[N * 10]; RUN(N, kwi(o));
    for (int i = 0; i < N; i++) { uint64_t *p = o + i * 10;
      EQ("gid", i, p[0], i); EQ("gsize", i, p[1], N); EQ("lsize", i, p[2], 1); EQ("group", i, p[3], i);
      EQ("ngroups", i, p[4], N); EQ("dim", i, p[5], 1); EQ("gid1", i, p[6], 0); EQ("lsize2", i, p[7], 1);
      EQ("linear", i, p[8], i); EQ("lid+els+off", i, p[9], 1); } }
  { float x[N], o[N * 16]; double xd[N], od[N * 8];
    for (int i = 0; i < N; i++) { x[i] = 0.05f + 0.37f * i; xd[i] = 0.03 + 0.41 * i; }
    RUN(N, kmath(x, o, xd, od));
    for (int i = 0; i < N; i++) { float v = x[i], *p = o + i * 16; double w = xd[i], *q = od + i * 8;
      NEARF("sin", i, p[0], sinf(v), 2); NEARF("cos", i, p[1], cosf(v), 2); NEARF("exp", i, p[2], expf(v), 2);
      NEARF("log", i, p[3], logf(v), 2); NEARF("sqrt", i, p[4], sqrtf(v), 0); NEARF("cbrt", i, p[5], cbrtf(v), 2);
      NEARF("pow", i, p[6], powf(v, 1.5f), 2); NEARF("tanh", i, p[7], tanhf(v), 2); NEARF("erf", i, p[8], erff(v), 2);
      NEARF("tgamma", i, p[9], tgammaf(v), 4); NEARF("sinpi", i, p[10], v == floorf(v) ? 0.0f : (float)sin(M_PI * fmod((double)v, 2.0)), 4);
      NEARF("rootn", i, p[11], cbrtf(v), 4); NEARF("sin4.w", i, p[12], sinf(v + 3.0f), 2);
      NEARF("exp2_16", i, p[13], exp2f(v), 2); NEARF("sincos.s", i, p[14], sinf(v), 2); NEARF("sincos.c", i, p[15], cosf(v), 2);
      NEARD("dsin", i, q[0], sin(w), 2); NEARD("dexp", i, q[1], exp(w), 2); NEARD("dlog", i, q[2], log(w), 2);
      NEARD("dpow", i, q[3], pow(w, 2.5), 2); NEARD("datan2", i, q[4], atan2(w, 2.0), 2); NEARD("dlgamma", i, q[5], lgamma(w), 4);
      NEARD("dfma", i, q[6], fma(w, w, 1.0), 0); int e; double fr = frexp(w, &e); NEARD("dfrexp", i, q[7], fr + e, 0); } }
  { int64_t a[N], b[N], o[N * 16];
    int64_t special[] = {0, 1, -1, INT64_MAX, INT64_MIN, 0x100000000ll, -0x7fffffffll, 3, 127, -128};
    for (int i = 0; i < N; i++) { a[i] = i < 10 ? special[i] : (int64_t)rnd(); b[i] = i < 10 ? special[(i * 3 + 1) % 10] : (int64_t)rnd() >> (i % 40); }
    RUN(N, kint(a, b, o));
    for (int i = 0; i < N; i++) { int64_t x = a[i], y = b[i], *p = o + i * 16; uint64_t ux = x, uy = y;
      EQ("mul_hi", i, p[0], (int64_t)(((__int128)x * y) >> 64));
      EQ("mul_hi_u", i, p[1], (int64_t)(uint64_t)(((unsigned __int128)ux * uy) >> 64));
      EQ("mad_sat", i, p[2], sat64((__int128)x * y + x));
      { unsigned __int128 r = (unsigned __int128)ux * uy + ux; EQ("mad_sat_u", i, p[3], (int64_t)(r > UINT64_MAX ? UINT64_MAX : (uint64_t)r)); }
      EQ("add_sat", i, p[4], sat64((__int128)x + y)); EQ("sub_sat", i, p[5], sat64((__int128)x - y));
      EQ("hadd", i, p[6], (int64_t)(((__int128)x + y) >> 1)); EQ("rhadd", i, p[7], (int64_t)(((__int128)x + y + 1) >> 1));
      EQ("clz", i, p[8], x == 0 ? 64 : __builtin_clzll(ux)); EQ("ctz", i, p[9], x == 0 ? 64 : __builtin_ctzll(ux));
      EQ("popcount", i, p[10], __builtin_popcountll(ux));
      { unsigned r = (unsigned)(uy & 63); EQ("rotate", i, p[11], (int64_t)(r ? (ux << r) | (ux >> (64 - r)) : ux)); }
      EQ("abs_diff", i, p[12], (int64_t)(x > y ? ux - uy : uy - ux));
      EQ("mul_hi32", i, p[13], (int32_t)(((int64_t)(int32_t)x * (int32_t)y) >> 32));
      { int s = (int8_t)x + (int8_t)y; EQ("add_sat8", i, p[14], s > 127 ? 127 : s < -128 ? -128 : s); }
      EQ("upsample", i, p[15], (int64_t)(((uint64_t)(uint32_t)x << 32) | (uint32_t)y)); } }
  { float f[N]; double d[N]; int64_t l[N]; int32_t o[N * 8]; float of[N * 8];
    float fs[] = {0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 1e10f, -1e10f, NAN, 300.7f, -0.3f, 2147483520.0f, -2147483648.0f, 255.5f, 254.5f, -1.5f, INFINITY};
    double ds[] = {0.5, 32767.5, -32768.7, 1e300, -1e300, 4294967295.9, 3.4e38, 1e-50, -1e-50, 0x1.000001p0, 0x1.0000010000001p0, -0x1.fffffffp127, 7.0, -0.0, NAN, 65535.5};
    int64_t ls[] = {0, 1, -1, INT64_MAX, INT64_MIN, 127, 128, -129, 65535, 65536, (1ll << 53) + 1, -((1ll << 53) + 1), (1ll << 62) + 1, 16777217, -16777217, 0x7fffff7fffffffffll};
    for (int i = 0; i < N; i++) { f[i] = i < 16 ? fs[i] : (float)((int64_t)rnd() >> 40) / 7.0f; d[i] = i < 16 ? ds[i] : (double)((int64_t)rnd() >> 30) / 3.0;
      l[i] = i < 16 ? ls[i] : (int64_t)rnd() >> (i % 50); }
    RUN(N, kconv(f, d, l, o, of));
    for (int i = 0; i < N; i++) { int32_t *p = o + i * 8; float *q = of + i * 8;
      EQ("int_sat_rte", i, p[0], (int32_t)satd(rnd_mode(f[i], FE_TONEAREST), INT32_MIN, INT32_MAX));
      EQ("int_sat_rtn", i, p[1], (int32_t)satd(rnd_mode(f[i], FE_DOWNWARD), INT32_MIN, INT32_MAX));
      EQ("uchar_sat", i, p[2], (int32_t)satd(trunc(f[i]), 0, 255));
      EQ("short_sat_rtp", i, p[3], (int32_t)satd(rnd_mode(d[i], FE_UPWARD), -32768, 32767));
      EQ("uint_sat_rtz", i, p[4], (int32_t)(uint32_t)satd(trunc(d[i]), 0, 4294967295.0));
      EQ("char_sat", i, p[5], l[i] > 127 ? 127 : l[i] < -128 ? -128 : l[i]);
      EQ("ushort_sat", i, p[6], l[i] > 65535 ? 65535 : l[i] < 0 ? 0 : l[i]);
      EQ("int4_sat_rte.y", i, p[7], (int32_t)satd(rnd_mode(f[i], FE_TONEAREST), INT32_MIN, INT32_MAX));
      NEARF("float_rtz(long)", i, q[0], l2f(l[i], FE_TOWARDZERO), 0); NEARF("float_rtp(long)", i, q[1], l2f(l[i], FE_UPWARD), 0);
      NEARF("float_rtn(long)", i, q[2], l2f(l[i], FE_DOWNWARD), 0); NEARF("float_rtz(double)", i, q[3], d2f(d[i], FE_TOWARDZERO), 0);
      NEARF("float_rtp(double)", i, q[4], d2f(d[i], FE_UPWARD), 0); NEARF("float_rtn(double)", i, q[5], d2f(d[i], FE_DOWNWARD), 0);
      NEARF("float(long)", i, q[6], l2f(l[i], FE_TONEAREST), 0); NEARF("float8_rtp(long).s5", i, q[7], l2f(l[i], FE_UPWARD), 0);
      checks++; if (signbit(q[5]) != signbit(d2f(d[i], FE_DOWNWARD))) FAILF("float_rtn(double) sign [%d]", i); } }
  { float a[N * 4], b[N * 4]; int32_t o[N * 24];
    float vals[] = {0.0f, -0.0f, 1.0f, -1.0f, NAN, INFINITY, -INFINITY, 1e-40f, 3.0f};
    for (int i = 0; i < N * 4; i++) { a[i] = vals[rnd() % 9]; b[i] = vals[rnd() % 9]; }
    RUN(N, krel(a, b, o));
    for (int i = 0; i < N; i++) { const float *x = a + i * 4, *y = b + i * 4; int32_t *p = o + i * 24; int anynan = 0, alll = 1;
      for (int k = 0; k < 4; k++) {
        EQ("isnan4", i * 4 + k, p[k], isnan(x[k]) ? -1 : 0); EQ("isless4", i * 4 + k, p[4 + k], isless(x[k], y[k]) ? -1 : 0);
        EQ("isgreaterequal4", i * 4 + k, p[8 + k], isgreaterequal(x[k], y[k]) ? -1 : 0);
        EQ("signbit4", i * 4 + k, p[12 + k], signbit(x[k]) ? -1 : 0); EQ("select4", i * 4 + k, p[16 + k], isless(x[k], y[k]) ? 2 : 1);
        anynan |= isnan(x[k]) != 0; alll &= isless(x[k], y[k]) != 0; }
      EQ("any", i, p[20], anynan); EQ("all", i, p[21], alll); EQ("isnan", i, p[22], isnan(x[0]) ? 1 : 0); EQ("isinf", i, p[23], isinf(x[1]) ? 1 : 0); } }
  { int32_t c[5] = {0}, ai[2] = {0}, old[N * 8]; int64_t cl = 0; float fx[N + 1]; fx[0] = -1.0f;
    RUN(N, katom(c, &cl, ai, old, fx));
    int mx = 0;
    for (int i = 0; i < N; i++) { int32_t *p = old + i * 8;
      EQ("atomic_add.old", i, p[0], i * (i + 1) / 2); EQ("atomic_inc.old", i, p[1], i); EQ("atomic_cmpxchg.old", i, p[2], i);
      EQ("atomic_max.old", i, p[3], mx); if (i * 7 % 11 > mx) mx = i * 7 % 11;
      EQ("atom_add64.old", i, p[4], i); EQ("fetch_add.old", i, p[5], 2 * i); EQ("cas_strong", i, p[6], 1);
      EQ("flag_tas", i, p[7], i > 0); EQ("atomic_xchg_f.old", i, (int)fx[1 + i], i - 1); }
    EQ("atomic_add.final", 0, c[0], N * (N + 1) / 2); EQ("inc.final", 0, c[1], N); EQ("cmpxchg.final", 0, c[2], N);
    EQ("max.final", 0, c[3], mx); EQ("atom64.final", 0, cl >> 33, N); EQ("fetch_add.final", 0, ai[0], 2 * N);
    EQ("cas.final", 0, ai[1], N); EQ("xchg.final", 0, (int)fx[0], N - 1); }
  { enum { H = 256 }; float f[H]; uint16_t o[H * 4], rt[65536];
    float fs[] = {1.0f, 65504.0f, 65519.0f, 65520.0f, 70000.0f, 1.0f / 3.0f, -1.0f / 3.0f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-26f, -0x1p-25f, 0.0f, -0.0f, 1e-10f, -65520.0f};
    for (int i = 0; i < H; i++) { if (i < 16) f[i] = fs[i]; else { uint32_t u = (uint32_t)rnd(); u = (u & 0x80000000u) | (0x30000000u + (u & 0x0fffffffu)); memcpy(&f[i], &u, 4); } }
    RUN(H, khalf(f, o, rt));
    int modes[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_UPWARD, FE_DOWNWARD}; const char *mn[4] = {"vstore_half_rte", "vstore_half_rtz", "vstore_half_rtp", "vstore_half_rtn"};
    for (int i = 0; i < H; i++) for (int m = 0; m < 4; m++) { checks++; unsigned want = f2h_ref(f[i], modes[m]);
      if (o[i * 4 + m] != want) FAILF("%s(%a): got 0x%04x want 0x%04x", mn[m], (double)f[i], o[i * 4 + m], want); }
    for (unsigned h = 0; h < 65536; h++) { if (((h >> 10) & 31) == 31 && (h & 1023)) continue; checks++;
      if (rt[h] != h) FAILF("half round trip 0x%04x -> 0x%04x", h, rt[h]); } }
  { int32_t src[N * 16], dst[1024 + N * 4], tmp[16];
    for (int i = 0; i < N * 16; i++) src[i] = i * 3 + 1;
    g_barriers = 0; RUN(N, kasync(src, dst, tmp));
    for (int i = 0; i < N; i++) { for (int k = 0; k < 16; k++) EQ("async_copy", i * 16 + k, dst[i * 16 + k], src[i * 16 + 15 - k]);
      for (int k = 0; k < 4; k++) EQ("vload4/shuffle/vstore4", i * 4 + k, dst[1024 + i * 4 + k], src[i * 16 + 4 + 3 - k]); }
    EQ("barriers", 0, g_barriers, 2 * N); }
  printf("checks %d failures %d\n", checks, fails);
  return fails ? 1 : 0;
}
`

func TestNative(t *testing.T) {
	needTools(t)
	const std = "CL3.0"
	lib := libBC(t, std)
	k := compileKernel(t, std, "native", nativeKernels)
	dir := tmpDir(t)
	linked := filepath.Join(dir, "native-linked.bc")
	run(t, nil, "llvm-link-15", "--only-needed", "-o", linked, k, lib)
	optd := filepath.Join(dir, "native-opt.bc")
	run(t, nil, "opt-15", "-O2", "-o", optd, linked)
	obj := filepath.Join(dir, "native.o")
	run(t, nil, "llc-15", "-O2", "-filetype=obj", "-relocation-model=pic", "-o", obj, optd)
	hc := filepath.Join(dir, "harness.c")
	if err := os.WriteFile(hc, []byte(nativeHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "native")
	run(t, nil, "clang-15", "-O0", "-frounding-math", "-o", exe, hc, obj, "-lm")
	cmd := exec.Command(exe)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", strings.TrimSpace(lastLine(string(out))))
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "FAIL") {
			t.Error(l)
		}
	}
	if err != nil {
		t.Fatalf("harness: %v", err)
	}

	// The atomics must still be LLVM atomic instructions after linking and
	// optimisation, on the kernel's own pointers, not calls.
	ll := string(run(t, nil, "llvm-dis-15", "-o", "-", optd))
	body := functionBody(ll, "katom")
	if body == "" {
		t.Fatal("katom not found in the optimised module")
	}
	if n := strings.Count(body, "atomicrmw"); n < 6 {
		t.Errorf("katom: %d atomicrmw instructions, want >= 6", n)
	}
	if n := strings.Count(body, "cmpxchg"); n < 2 {
		t.Errorf("katom: %d cmpxchg instructions, want >= 2", n)
	}
	if m := regexp.MustCompile(`call [^@]*@(_Z\w*atom\w*)`).FindString(body); m != "" {
		t.Errorf("katom still calls an atomic builtin: %s", m)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func functionBody(ll, name string) string {
	i := strings.Index(ll, "@"+name+"(")
	if i < 0 {
		return ""
	}
	j := strings.Index(ll[i:], "\n}\n")
	if j < 0 {
		return ll[i:]
	}
	return ll[i : i+j]
}
