// ---- integer functions (s6.15.3) ----
#define IX1(N, R, T, E) R OVL N(T x) { return E; } VEC1(N, R, T)
#define IX2(N, R, T, E) R OVL N(T x, T y) { return E; } VEC2(N, R, T, T)
#define IX3(N, R, T, E) R OVL N(T x, T y, T z) { return E; } VEC3(N, R, T, T, T)
#define TMAX(T) ((T)(((UT(T))~(UT(T))0) >> ((T)-1 < (T)0 ? 1 : 0)))
#define TMIN(T) ((T)((T)-1 < (T)0 ? ~TMAX(T) : 0))

#define INT_SMALL(T, W)                                                                  \
  /* mul_hi/mad_sat through the wider type W */                                          \
  IX2(mul_hi, T, T, (T)(((W)x * (W)y) >> BITS(T)))                                       \
  IX3(mad_sat, T, T, (T)__svm_clampw((W)x * (W)y + (W)z, (W)TMIN(T), (W)TMAX(T)))
static long __svm_clampw(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

// (OpenCL's long long is 128 bits: use the __builtin_*l forms; scalar
// add_sat/sub_sat go through 2-vectors, which are not integer-promoted.)
#define INT_ALL(T, _)                                                                    \
  IX1(abs, UT(T), T, (T)-1 < (T)0 && x < (T)0 ? (UT(T))0 - (UT(T))x : (UT(T))x)         \
  IX2(abs_diff, UT(T), T, x > y ? (UT(T))x - (UT(T))y : (UT(T))y - (UT(T))x)             \
  IX2(add_sat, T, T, __builtin_elementwise_add_sat((CAT(T, 2))(x), (CAT(T, 2))(y)).s0)                                \
  IX2(sub_sat, T, T, __builtin_elementwise_sub_sat((CAT(T, 2))(x), (CAT(T, 2))(y)).s0)                                \
  IX2(hadd, T, T, (x >> 1) + (y >> 1) + (x & y & (T)1))                                  \
  IX2(rhadd, T, T, (x >> 1) + (y >> 1) + ((x | y) & (T)1))                               \
  IX2(max, T, T, x > y ? x : y) VEC2S(max, T, T, T)                                      \
  IX2(min, T, T, x < y ? x : y) VEC2S(min, T, T, T)                                      \
  IX3(clamp, T, T, min(max(x, y), z)) VEC3SS(clamp, T, T, T)                             \
  IX1(clz, T, T, x == 0 ? (T)BITS(T) : (T)(__builtin_clzl((ulong)(UT(T))x) - (64 - BITS(T)))) \
  IX1(ctz, T, T, x == 0 ? (T)BITS(T) : (T)__builtin_ctzl((ulong)(UT(T))x))              \
  IX1(popcount, T, T, (T)__builtin_popcountl((ulong)(UT(T))x))                          \
  IX2(rotate, T, T, (T)(((UT(T))x << ((UT(T))y & (BITS(T) - 1))) |                      \
                       ((UT(T))x >> ((BITS(T) - ((UT(T))y & (BITS(T) - 1))) & (BITS(T) - 1)))))
FOR_INT(INT_ALL, )
INT_SMALL(char, int) INT_SMALL(uchar, int) INT_SMALL(short, int) INT_SMALL(ushort, int)
INT_SMALL(int, long)
static long __svm_clampu(ulong v, ulong hi) { return v > hi ? hi : v; }
IX2(mul_hi, uint, uint, (uint)(((ulong)x * (ulong)y) >> 32))
IX3(mad_sat, uint, uint, (uint)__svm_clampu((ulong)x * (ulong)y + (ulong)z, 0xfffffffful))

// 64-bit: 128-bit products from 32-bit halves.
static ulong __svm_umul_hi64(ulong a, ulong b, ulong *lo) {
  ulong al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
  ulong ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  ulong mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  *lo = (mid << 32) | (ll & 0xffffffffu);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
static long __svm_smul_hi64(long a, long b, ulong *lo) {
  ulong h = __svm_umul_hi64((ulong)a, (ulong)b, lo);
  if (a < 0) h -= (ulong)b;
  if (b < 0) h -= (ulong)a;
  return (long)h;
}
static ulong __svm_mulhi_u64(ulong a, ulong b) { ulong lo; return __svm_umul_hi64(a, b, &lo); }
static long __svm_mulhi_s64(long a, long b) { ulong lo; return __svm_smul_hi64(a, b, &lo); }
static ulong __svm_madsat_u64(ulong a, ulong b, ulong c) {
  ulong lo, hi = __svm_umul_hi64(a, b, &lo);
  ulong s = lo + c;
  if (s < lo) hi++;
  return hi ? ~0ul : s;
}
static long __svm_madsat_s64(long a, long b, long c) {
  ulong lo; long hi = __svm_smul_hi64(a, b, &lo);
  ulong s = lo + (ulong)c;
  hi += (long)(s < lo) + (c < 0 ? -1 : 0); // add c sign-extended to 128 bits
  if (hi == 0 && (long)s >= 0) return (long)s;
  if (hi == -1 && (long)s < 0) return (long)s;
  return hi < 0 ? (long)0x8000000000000000ul : 0x7ffffffffffffffful;
}
IX2(mul_hi, long, long, __svm_mulhi_s64(x, y))
IX2(mul_hi, ulong, ulong, __svm_mulhi_u64(x, y))
IX3(mad_sat, long, long, __svm_madsat_s64(x, y, z))
IX3(mad_sat, ulong, ulong, __svm_madsat_u64(x, y, z))
#define MADHI(T, _) IX3(mad_hi, T, T, mul_hi(x, y) + z)
FOR_INT(MADHI, )
IX2(mul24, int, int, x * y) IX2(mul24, uint, uint, x * y)
IX3(mad24, int, int, x * y + z) IX3(mad24, uint, uint, x * y + z)
#define UPS(H, L, R)                                                                     \
  R OVL upsample(H h, L l) { return ((R)h << BITS(H)) | (R)l; } VEC2(upsample, R, H, L)
UPS(char, uchar, short) UPS(uchar, uchar, ushort) UPS(short, ushort, int)
UPS(ushort, ushort, uint) UPS(int, uint, long) UPS(uint, uint, ulong)

// ---- common functions (s6.15.4) ----
#define CMN(T, _)                                                                        \
  IX3(clamp, T, T, fmin(fmax(x, y), z)) VEC3SS(clamp, T, T, T)                           \
  IX1(degrees, T, T, x * (T)(180.0 / PI_D))                                              \
  IX1(radians, T, T, x * (T)(PI_D / 180.0))                                              \
  IX2(max, T, T, fmax(x, y)) VEC2S(max, T, T, T)                                         \
  IX2(min, T, T, fmin(x, y)) VEC2S(min, T, T, T)                                         \
  IX3(mix, T, T, x + (y - x) * z)                                                        \
  IX2(step, T, T, y < x ? (T)0 : (T)1)                                                   \
  IX3(smoothstep, T, T, __svm_smooth_##T(x, y, z))                                       \
  IX1(sign, T, T, x > (T)0 ? (T)1 : x < (T)0 ? (T)-1 : x != x ? (T)0 : x)
static float __svm_smooth_float(float e0, float e1, float x) {
  float t = fmin(fmax((x - e0) / (e1 - e0), 0.0f), 1.0f);
  return t * t * (3.0f - 2.0f * t);
}
static double __svm_smooth_double(double e0, double e1, double x) {
  double t = fmin(fmax((x - e0) / (e1 - e0), 0.0), 1.0);
  return t * t * (3.0 - 2.0 * t);
}
FOR_FLT(CMN, )
#define CMNV(T, N)                                                                       \
  T##N OVL mix(T##N x, T##N y, T a) { return mix(x, y, (T##N)(a)); }                     \
  T##N OVL step(T e, T##N x) { return step((T##N)(e), x); }                              \
  T##N OVL smoothstep(T e0, T e1, T##N x) { return smoothstep((T##N)(e0), (T##N)(e1), x); }
#define CMNVS(T, _) CMNV(T, 2) CMNV(T, 3) CMNV(T, 4) CMNV(T, 8) CMNV(T, 16)
FOR_FLT(CMNVS, )

// ---- geometric functions (s6.15.5): float/double, 1-4 components ----
#define GEO(T, _)                                                                        \
  T OVL dot(T a, T b) { return a * b; }                                                  \
  T OVL dot(T##2 a, T##2 b) { return a.x * b.x + a.y * b.y; }                            \
  T OVL dot(T##3 a, T##3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }                \
  T OVL dot(T##4 a, T##4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }    \
  T##3 OVL cross(T##3 a, T##3 b) { return (T##3)(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x); } \
  T##4 OVL cross(T##4 a, T##4 b) { return (T##4)(cross(a.xyz, b.xyz), (T)0); }         \
  GEOL(T, ) GEOL(T, 2) GEOL(T, 3) GEOL(T, 4)
/* length scales by the largest magnitude to avoid overflow and underflow */
#define GEOL(T, N)                                                                       \
  T OVL length(T##N x) {                                                                 \
    T##N a = fabs(x); T m = __svm_maxc(a);                                               \
    if (m == (T)0 || __builtin_isinf(m) || m != m) return m;                             \
    T##N s = x / m; return m * sqrt(dot(s, s));                                          \
  }                                                                                      \
  T OVL distance(T##N a, T##N b) { return length(a - b); }                               \
  T##N OVL normalize(T##N x) {                                                           \
    T##N a = fabs(x); T m = __svm_maxc(a);                                               \
    if (m == (T)0) return x;                                                             \
    if (__builtin_isinf(m)) x = copysign(isinf(x) ? (T##N)1 : (T##N)0, x);               \
    return x / length(x);                                                                \
  }                                                                                      \
  T OVL fast_length(T##N x) { return length(x); }                                        \
  T OVL fast_distance(T##N a, T##N b) { return length(a - b); }                          \
  T##N OVL fast_normalize(T##N x) { return normalize(x); }
#define MAXC(T)                                                                          \
  static T OVL __svm_maxc(T a) { return a; }                                             \
  static T OVL __svm_maxc(T##2 a) { return fmax(a.x, a.y); }                             \
  static T OVL __svm_maxc(T##3 a) { return fmax(fmax(a.x, a.y), a.z); }                  \
  static T OVL __svm_maxc(T##4 a) { return fmax(fmax(a.x, a.y), fmax(a.z, a.w)); }
MAXC(float) MAXC(double)
FOR_FLT(GEO, )
