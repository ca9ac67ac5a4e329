// ---- relational functions (s6.15.6) ----
// Vector comparisons in OpenCL C yield -1/0 per component and scalar ones
// 1/0, exactly the results the spec requires, so each is one expression.
#define RELN(F, T, R, N, E) R##N OVL F(T##N x, T##N y) { return E; }
#define RELN1(F, T, R, N, E) R##N OVL F(T##N x) { return E; }
#define RELSB(F, T, R, N, E) R##N OVL signbit(T##N x) { return as_##R##N(x) < (R)0; }
#define RELW(M, F, T, R, E) M(F, T, R, , E) M(F, T, R, 2, E) M(F, T, R, 3, E) M(F, T, R, 4, E) M(F, T, R, 8, E) M(F, T, R, 16, E)
#define REL(T, R)                                                                        \
  RELW(RELN, isequal, T, R, x == y) RELW(RELN, isnotequal, T, R, x != y)                 \
  RELW(RELN, isgreater, T, R, x > y) RELW(RELN, isgreaterequal, T, R, x >= y)            \
  RELW(RELN, isless, T, R, x < y) RELW(RELN, islessequal, T, R, x <= y)                  \
  RELW(RELN, islessgreater, T, R, (x < y) || (x > y))                                    \
  RELW(RELN, isordered, T, R, (x == x) && (y == y))                                      \
  RELW(RELN, isunordered, T, R, (x != x) || (y != y))                                    \
  RELW(RELN1, isfinite, T, R, __builtin_elementwise_abs(x) < (T)INFINITY)                \
  RELW(RELN1, isinf, T, R, __builtin_elementwise_abs(x) == (T)INFINITY)                  \
  RELW(RELN1, isnan, T, R, x != x)                                                       \
  RELW(RELN1, isnormal, T, R, (__builtin_elementwise_abs(x) < (T)INFINITY) && (__builtin_elementwise_abs(x) >= (T)MIN_##T)) \
  RELW(RELSB, signbit, T, R, )
#define MIN_float FLT_MIN
#define MIN_double DBL_MIN
REL(float, int)
REL(double, long)

// any/all: most significant bit of any/all components.
#define ANYALL1(F, OP, T)                                                                \
  int OVL F(T x) { return x < (T)0; }                                                    \
  int OVL F(T##2 x) { return F(x.s0) OP F(x.s1); }                                       \
  int OVL F(T##3 x) { return F(x.s0) OP F(x.s1) OP F(x.s2); }                            \
  int OVL F(T##4 x) { return F(x.lo) OP F(x.hi); }                                       \
  int OVL F(T##8 x) { return F(x.lo) OP F(x.hi); }                                       \
  int OVL F(T##16 x) { return F(x.lo) OP F(x.hi); }
#define ANYALL(T, _) ANYALL1(any, |, T) ANYALL1(all, &, T)
FOR_SINT(ANYALL, )

// bitselect: per bit, c ? b : a.
#define BSELN(T, N)                                                                      \
  T##N OVL bitselect(T##N a, T##N b, T##N c) { return (a & ~c) | (b & c); }
#define BSELF(T, N)                                                                      \
  T##N OVL bitselect(T##N a, T##N b, T##N c) {                                           \
    return CAT(as_, T##N)(bitselect(CAT(as_, CAT(UT(T), N))(a), CAT(as_, CAT(UT(T), N))(b), CAT(as_, CAT(UT(T), N))(c))); \
  }
#define BSELI(T, _) BSELN(T, ) BSELN(T, 2) BSELN(T, 3) BSELN(T, 4) BSELN(T, 8) BSELN(T, 16)
FOR_INT(BSELI, )
#define BSELW(T, _) BSELF(T, ) BSELF(T, 2) BSELF(T, 3) BSELF(T, 4) BSELF(T, 8) BSELF(T, 16)
FOR_FLT(BSELW, )

// select: scalar c ? b : a; vectors: by the most significant bit of each
// component of c (signed or unsigned c of the element width).
#define SELS(T, C) T OVL select(T a, T b, C c) { return c ? b : a; }
#define SELV(T, C, N)                                                                    \
  T##N OVL select(T##N a, T##N b, C##N c) {                                              \
    CAT(UT(T), N) m = CAT(as_, CAT(UT(T), N))(CAT(as_, CAT(ST(T), N))(c) >> (BITS(T) - 1)); \
    return CAT(as_, T##N)(bitselect(CAT(as_, CAT(UT(T), N))(a), CAT(as_, CAT(UT(T), N))(b), m)); \
  }
#define SELC(T, C) SELS(T, C) SELV(T, C, 2) SELV(T, C, 3) SELV(T, C, 4) SELV(T, C, 8) SELV(T, C, 16)
#define SEL(T, _) SELC(T, ST(T)) SELC(T, UT(T))
FOR_ALL(SEL, )
