// ---- explicit conversions convert_<type><n>[_sat][_<rounding>] (s6.4.3) ----
// Integer destinations: default rounding rtz; _sat clamps (NaN -> 0).
// Float destinations: default rte; directed modes fix the round-to-nearest
// result up or down by one ulp after an exact comparison with the source.
#define DMIN_char (-128.0)
#define DMIN_uchar 0.0
#define DMIN_short (-32768.0)
#define DMIN_ushort 0.0
#define DMIN_int (-2147483648.0)
#define DMIN_uint 0.0
#define DMIN_long (-9223372036854775808.0)
#define DMIN_ulong 0.0
/* exclusive upper bound, a power of two */
#define DLIM_char 128.0
#define DLIM_uchar 256.0
#define DLIM_short 32768.0
#define DLIM_ushort 65536.0
#define DLIM_int 2147483648.0
#define DLIM_uint 4294967296.0
#define DLIM_long 9223372036854775808.0
#define DLIM_ulong 18446744073709551616.0
#define RND_ x
#define RND__rte __builtin_elementwise_roundeven(x)
#define RND__rtz __builtin_elementwise_trunc(x)
#define RND__rtp __builtin_elementwise_ceil(x)
#define RND__rtn __builtin_elementwise_floor(x)
#define DIR_ 0
#define DIR__rte 0
#define DIR__rtz 1
#define DIR__rtp 2
#define DIR__rtn 3

// int -> int
#define CVT_II(D, S, R)                                                                  \
  D OVL convert_##D##R(S x) { return (D)x; }                                             \
  D OVL convert_##D##_sat##R(S x) {                                                      \
    if ((S)-1 < (S)0 && x < (S)0) return (long)x >= (long)TMIN(D) ? (D)x : TMIN(D);      \
    return (ulong)x > (ulong)TMAX(D) ? TMAX(D) : (D)x;                                   \
  }
// float -> int
#define CVT_IF(D, S, R)                                                                  \
  D OVL convert_##D##R(S x) { return (D)(RND_##R); }                                \
  D OVL convert_##D##_sat##R(S x) {                                                      \
    if (x != x) return 0;                                                                \
    S r = RND_##R;                                                                  \
    if (r < (S)CAT(DMIN_, D)) return TMIN(D);                                            \
    if (r >= (S)CAT(DLIM_, D)) return TMAX(D);                                           \
    return (D)r;                                                                         \
  }
// Compare the integer-valued float f with the integer x: -1, 0, 1 (f <, ==, > x).
#define CMPIF(S, F)                                                                      \
  static int OVL __svm_cmp(F f, S x) {                                                   \
    if (f >= (F)CAT(DLIM_, S)) return 1;                                                 \
    if (f < (F)CAT(DMIN_, S)) return -1;                                                 \
    S t = (S)f; return t < x ? -1 : t > x ? 1 : 0;                                       \
  }
#define CMPIF2(S, _) CMPIF(S, float) CMPIF(S, double)
FOR_INT(CMPIF2, )
static int OVL __svm_cmp(float f, double x) { double d = (double)f; return d < x ? -1 : d > x ? 1 : 0; }
// Directed adjustment of the nearest value f of x.
#define ADJ(F)                                                                           \
  static F OVL __svm_adj(F f, int c, bool neg, int dir) {                                \
    if (dir == 1 && c != 0 && ((c > 0) != neg)) return __builtin_nextafter##F##_(f, (F)0);    \
    if (dir == 2 && c < 0) return __builtin_nextafter##F##_(f, (F)INFINITY);             \
    if (dir == 3 && c > 0) return __builtin_nextafter##F##_(f, -(F)INFINITY);            \
    return f;                                                                            \
  }
#define __builtin_nextafterfloat_ __builtin_nextafterf
#define __builtin_nextafterdouble_ __builtin_nextafter
ADJ(float) ADJ(double)
// int -> float (and double -> float)
#define CVT_FI(D, S, R)                                                                  \
  D OVL convert_##D##R(S x) {                                                            \
    D f = (D)x;                                                                          \
    if (DIR_##R == 0 || f != f) return f;                                           \
    return __svm_adj(f, __svm_cmp(f, x), x < (S)0, DIR_##R);                        \
  }
// exact conversions to a float type
#define CVT_FX(D, S, R) D OVL convert_##D##R(S x) { return (D)x; }

// Vectors: by halves/components through the scalar (or narrower) overloads.
#define CVTV(D, S, SUF)                                                                  \
  D##2 OVL convert_##D##2##SUF(S##2 x) { return (D##2)(convert_##D##SUF(x.s0), convert_##D##SUF(x.s1)); } \
  D##3 OVL convert_##D##3##SUF(S##3 x) { return (D##3)(convert_##D##SUF(x.s0), convert_##D##SUF(x.s1), convert_##D##SUF(x.s2)); } \
  D##4 OVL convert_##D##4##SUF(S##4 x) { return (D##4)(convert_##D##2##SUF(x.lo), convert_##D##2##SUF(x.hi)); } \
  D##8 OVL convert_##D##8##SUF(S##8 x) { return (D##8)(convert_##D##4##SUF(x.lo), convert_##D##4##SUF(x.hi)); } \
  D##16 OVL convert_##D##16##SUF(S##16 x) { return (D##16)(convert_##D##8##SUF(x.lo), convert_##D##8##SUF(x.hi)); }
#define RMODES(M, D, S) M(D, S, ) M(D, S, _rte) M(D, S, _rtz) M(D, S, _rtp) M(D, S, _rtn)
#define VI(D, S, R) CVTV(D, S, R) CVTV(D, S, _sat##R)
#define VF(D, S, R) CVTV(D, S, R)
#define II(S, D) RMODES(CVT_II, D, S) RMODES(VI, D, S)
#define IF(S, D) RMODES(CVT_IF, D, S) RMODES(VI, D, S)
#define FI(S, D) RMODES(CVT_FI, D, S) RMODES(VF, D, S)
#define FX(S, D) RMODES(CVT_FX, D, S) RMODES(VF, D, S)
// second copies of the type lists (a macro cannot expand inside itself)
#define FOR_INT_B(M, X) M(char, X) M(short, X) M(int, X) M(long, X) M(uchar, X) M(ushort, X) M(uint, X) M(ulong, X)
#define TO_I(D, _) FOR_INT_B(II, D) IF(float, D) IF(double, D)
FOR_INT(TO_I, )
FOR_INT(FI, float)
FOR_INT(FI, double)
FI(double, float)
FX(float, float) FX(float, double) FX(double, double)
