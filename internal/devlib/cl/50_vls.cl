// ---- vector data load and store (s6.15.7) ----
#define VL2(AS, T) T##2 OVL vload2(size_t i, const AS T *p) { p += i * 2; return (T##2)(p[0], p[1]); } \
  void OVL vstore2(T##2 v, size_t i, AS T *p) { p += i * 2; p[0] = v.s0; p[1] = v.s1; }
#define VL3(AS, T) T##3 OVL vload3(size_t i, const AS T *p) { p += i * 3; return (T##3)(p[0], p[1], p[2]); } \
  void OVL vstore3(T##3 v, size_t i, AS T *p) { p += i * 3; p[0] = v.s0; p[1] = v.s1; p[2] = v.s2; }
#define VLN(AS, T, N, H) T##N OVL vload##N(size_t i, const AS T *p) { p += i * N; return (T##N)(vload##H(0, p), vload##H(1, p)); } \
  void OVL vstore##N(T##N v, size_t i, AS T *p) { p += i * N; vstore##H(v.lo, 0, p); vstore##H(v.hi, 1, p); }
#define VLT(T, AS) VL2(AS, T) VL3(AS, T) VLN(AS, T, 4, 2) VLN(AS, T, 8, 4) VLN(AS, T, 16, 8)
#define VLAS(AS, _) FOR_ALL(VLT, AS) VLT(half, AS)
FOR_PTR_AS(VLAS, )
// __constant has loads only.
#define VLC2(T) T##2 OVL vload2(size_t i, const __constant T *p) { p += i * 2; return (T##2)(p[0], p[1]); }
#define VLC3(T) T##3 OVL vload3(size_t i, const __constant T *p) { p += i * 3; return (T##3)(p[0], p[1], p[2]); }
#define VLCN(T, N, H) T##N OVL vload##N(size_t i, const __constant T *p) { p += i * N; return (T##N)(vload##H(0, p), vload##H(1, p)); }
#define VLC(T, _) VLC2(T) VLC3(T) VLCN(T, 4, 2) VLCN(T, 8, 4) VLCN(T, 16, 8)
FOR_ALL(VLC, )
VLC(half, )

// ---- half <-> float/double (bit exact, all rounding modes) ----
// mode: 0 rte, 1 rtz, 2 rtp, 3 rtn.
static ushort __svm_d2h(double x, int mode) {
  ulong b = as_ulong(x);
  uint s = (uint)(b >> 48) & 0x8000u;
  ulong ab = b & 0x7ffffffffffffffful;
  if (ab > 0x7ff0000000000000ul) return (ushort)(s | 0x7e00u | (uint)((ab >> 42) & 0x3ffu));
  int e = (int)(ab >> 52) - 1023;
  ulong m = ab & 0x000ffffffffffffful;
  bool over = ab == 0x7ff0000000000000ul || e > 15;
  uint bits = 0;
  if (!over) {
    if (e == -1023) e = -1022; else m |= 0x0010000000000000ul;
    int E = e < -14 ? -14 : e;
    int sh = E - e + 42;
    ulong q, rem, hf;
    bool gt, eq, nz;
    if (sh >= 64) { q = 0; gt = false; eq = false; nz = m != 0; }
    else {
      q = m >> sh; rem = m & ((1ul << sh) - 1); hf = 1ul << (sh - 1);
      gt = rem > hf; eq = rem == hf; nz = rem != 0;
    }
    if (mode == 0) { if (gt || (eq && (q & 1))) q++; }
    else if (mode == 2) { if (nz && !s) q++; }
    else if (mode == 3) { if (nz && s) q++; }
    bits = (uint)((E + 14) << 10) + (uint)q;
    over = bits >= 0x7c00u;
  }
  if (over) {
    bool inf = ab == 0x7ff0000000000000ul || mode == 0 || (mode == 2 && !s) || (mode == 3 && s);
    bits = inf ? 0x7c00u : 0x7bffu;
  }
  return (ushort)(s | bits);
}
static float __svm_h2f(ushort h) {
  uint s = ((uint)h & 0x8000u) << 16, e = ((uint)h >> 10) & 0x1fu, m = (uint)h & 0x3ffu;
  if (e == 0x1f) return as_float(s | 0x7f800000u | (m << 13));
  if (e == 0) { float f = (float)m * 0x1p-24f; return s ? -f : f; }
  return as_float(s | ((e + 112) << 23) | (m << 13));
}
#define VLH(AS, _)                                                                       \
  float OVL vload_half(size_t i, const AS half *p) { return __svm_h2f(((const AS ushort *)p)[i]); } \
  VLHN(AS, 2, vload_half, 2) VLHN(AS, 3, vload_half, 3) VLHN(AS, 4, vload_half, 4) VLHN(AS, 8, vload_half, 8) VLHN(AS, 16, vload_half, 16) \
  VLHN(AS, 2, vloada_half, 2) VLHN(AS, 3, vloada_half, 4) VLHN(AS, 4, vloada_half, 4) VLHN(AS, 8, vloada_half, 8) VLHN(AS, 16, vloada_half, 16)
#define VLHN(AS, N, F, STRIDE)                                                           \
  float##N OVL F##N(size_t i, const AS half *p) {                                        \
    const AS ushort *q = (const AS ushort *)p + i * STRIDE; float t[N];                  \
    for (int k = 0; k < N; k++) t[k] = __svm_h2f(q[k]);                                  \
    return *(float##N *)t;                                                               \
  }
FOR_LOAD_AS(VLH, )
#define VSH1(AS, T, R, MODE)                                                             \
  void OVL vstore_half##R(T v, size_t i, AS half *p) { ((AS ushort *)p)[i] = __svm_d2h((double)v, MODE); } \
  VSHN(AS, T, R, MODE, 2, vstore_half, 2) VSHN(AS, T, R, MODE, 3, vstore_half, 3) VSHN(AS, T, R, MODE, 4, vstore_half, 4) \
  VSHN(AS, T, R, MODE, 8, vstore_half, 8) VSHN(AS, T, R, MODE, 16, vstore_half, 16)                                        \
  VSHN(AS, T, R, MODE, 2, vstorea_half, 2) VSHN(AS, T, R, MODE, 3, vstorea_half, 4) VSHN(AS, T, R, MODE, 4, vstorea_half, 4) \
  VSHN(AS, T, R, MODE, 8, vstorea_half, 8) VSHN(AS, T, R, MODE, 16, vstorea_half, 16)
#define VSHN(AS, T, R, MODE, N, F, STRIDE)                                               \
  void OVL F##N##R(T##N v, size_t i, AS half *p) {                                       \
    AS ushort *q = (AS ushort *)p + i * STRIDE; T t[N]; *(T##N *)t = v;                  \
    for (int k = 0; k < N; k++) q[k] = __svm_d2h((double)t[k], MODE);                    \
  }
#define VSH(AS, _)                                                                       \
  VSH1(AS, float, , 0) VSH1(AS, float, _rte, 0) VSH1(AS, float, _rtz, 1) VSH1(AS, float, _rtp, 2) VSH1(AS, float, _rtn, 3) \
  VSH1(AS, double, , 0) VSH1(AS, double, _rte, 0) VSH1(AS, double, _rtz, 1) VSH1(AS, double, _rtp, 2) VSH1(AS, double, _rtn, 3)
FOR_PTR_AS(VSH, )

// ---- shuffle, shuffle2 (s6.15.14) ----
#define SHUF(T, N, M)                                                                    \
  T##M OVL shuffle(T##N x, CAT(UT(T), M) mask) {                                         \
    T xs[N]; *(T##N *)xs = x; CAT(UT(T), M) mk = mask; UT(T) *ms = (UT(T) *)&mk; T r[M];  \
    for (int k = 0; k < M; k++) r[k] = xs[ms[k] & (N - 1)];                              \
    return *(T##M *)r;                                                                   \
  }                                                                                      \
  T##M OVL shuffle2(T##N x, T##N y, CAT(UT(T), M) mask) {                                \
    T xs[2 * N]; *(T##N *)xs = x; *(T##N *)(xs + N) = y;                                 \
    CAT(UT(T), M) mk = mask; UT(T) *ms = (UT(T) *)&mk; T r[M];                           \
    for (int k = 0; k < M; k++) r[k] = xs[ms[k] & (2 * N - 1)];                          \
    return *(T##M *)r;                                                                   \
  }
#define SHUFM(T, N) SHUF(T, N, 2) SHUF(T, N, 4) SHUF(T, N, 8) SHUF(T, N, 16)
#define SHUFT(T, _) SHUFM(T, 2) SHUFM(T, 4) SHUFM(T, 8) SHUFM(T, 16)
FOR_ALL(SHUFT, )
