// Test harness for instrumented kernels: implements the svmrt device ABI with
// plain memory operations, counting calls and recording which bytes of each
// registered buffer were read and written, and runs each kernel over N
// work-items. The uninstrumented build links the same file; its counters stay
// zero.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G __attribute__((address_space(1)))
#define N 13
#define NODES 7

typedef struct { int a; float b; long c; char d[5]; } S;
typedef struct Node { struct Node *next; int val; } Node;

static size_t cur_gid;
size_t get_gid(unsigned d) __asm__("_Z13get_global_idj");
size_t get_gid(unsigned d) { return d == 0 ? cur_gid : 0; }

struct buf { const char *name; unsigned char *base; size_t len; unsigned char cov[1024]; };
static struct buf bufs[8];
static int nbufs;
static long n_ld, n_st, n_st_done, n_rmw, n_cas, n_memcpy, n_memset, stray;

static void mark(void *p, long n, int bits) {
  unsigned char *a = p;
  for (int i = 0; i < nbufs; i++) {
    struct buf *b = &bufs[i];
    if (a >= b->base && a + n <= b->base + b->len) {
      for (long j = 0; j < n; j++) b->cov[a - b->base + j] |= bits;
      return;
    }
  }
  stray++;
}

void *__svm_ld(void *a, long n) { n_ld++; mark(a, n, 1); return a; }
void *__svm_st(void *a, long n) { n_st++; mark(a, n, 2); return a; }
void __svm_st_done(void *h, long n) { n_st_done++; }
void __svm_memcpy(void *d, void *s, long n) { n_memcpy++; mark(s, n, 1); mark(d, n, 2); memmove(d, s, n); }
void __svm_memset(void *d, char v, long n) { n_memset++; mark(d, n, 2); memset(d, v, n); }

#define RMW(op, ty, T, expr) \
  T __svm_rmw_##op##_##ty(T *p, T v) { n_rmw++; mark(p, sizeof(T), 3); T old = *p; *p = (expr); return old; }
RMW(add, i32, int32_t, old + v)
RMW(add, i64, int64_t, old + v)
RMW(xchg, i32, int32_t, v)
RMW(xchg, i64, int64_t, v)
#define CAS(ty, T) \
  T __svm_cas_##ty(T *p, T cmp, T v) { n_cas++; mark(p, sizeof(T), 3); T old = *p; if (old == cmp) *p = v; return old; }
CAS(i32, int32_t)
CAS(i64, int64_t)

static void reg(const char *name, void *base, size_t len) {
  struct buf *b = &bufs[nbufs++];
  b->name = name, b->base = base, b->len = len;
  memset(b->cov, 0, sizeof b->cov);
}

static void begin(const char *kernel) {
  nbufs = 0;
  n_ld = n_st = n_st_done = n_rmw = n_cas = n_memcpy = n_memset = stray = 0;
  printf("kernel %s\n", kernel);
}

static void end(void) {
  for (int i = 0; i < nbufs; i++) {
    struct buf *b = &bufs[i];
    printf("data %s ", b->name);
    for (size_t j = 0; j < b->len; j++) printf("%02x", b->base[j]);
    printf("\ncov %s ", b->name);
    for (size_t j = 0; j < b->len; j++) putchar(".rwb"[b->cov[j]]);
    printf("\n");
  }
  printf("count ld=%ld st=%ld st_done=%ld rmw=%ld cas=%ld memcpy=%ld memset=%ld stray=%ld\n",
         n_ld, n_st, n_st_done, n_rmw, n_cas, n_memcpy, n_memset, stray);
}

// Kernels are called through volatile pointers so the optimiser cannot
// inline them into the work-item loop.
void scalars(G char *, G short *, G int *, G long *, G float *, G double *);
void saxpy(G float *, G float *, float);
void vec(G void *, G void *);
void copy(G S *, G S *);
void clear(G S *);
void atom(G int *, G long *, G int *, G long *, G int *, G long *);
void via_generic(G int *);
void chase(G Node *, G int *);

#define RUN(f, ...) do { \
    void (*volatile fp)() = (void (*)())f; \
    for (cur_gid = 0; cur_gid < N; cur_gid++) fp(__VA_ARGS__); \
  } while (0)

int main(void) {
  static char c[N]; static short s[N]; static int i32[N]; static long i64[N];
  static float f[N], x[N], y[N]; static double d[N];
  for (int k = 0; k < N; k++) {
    c[k] = k - 5; s[k] = k * 1000 - 7; i32[k] = k * 100003; i64[k] = (long)k << 40 | k;
    f[k] = k * 0.25f - 1; d[k] = k * 3.75 - 2; x[k] = k * 1.5f; y[k] = 10 - k;
  }

  begin("scalars");
  reg("c", c, sizeof c); reg("s", s, sizeof s); reg("i", i32, sizeof i32);
  reg("l", i64, sizeof i64); reg("f", f, sizeof f); reg("d", d, sizeof d);
  RUN(scalars, (G char *)c, (G short *)s, (G int *)i32, (G long *)i64, (G float *)f, (G double *)d);
  end();

  begin("saxpy");
  reg("x", x, sizeof x); reg("y", y, sizeof y);
  RUN(saxpy, (G float *)x, (G float *)y, 2.5f);
  end();

  static float a4[N][4], b3[N][4];
  for (int k = 0; k < N; k++)
    for (int j = 0; j < 4; j++) a4[k][j] = k + j * 0.5f, b3[k][j] = j == 3 ? -99.0f : k * j;
  begin("vec");
  reg("a", a4, sizeof a4); reg("b", b3, sizeof b3);
  RUN(vec, (G void *)a4, (G void *)b3);
  end();

  static S src[N], dst[N];
  for (int k = 0; k < N; k++) {
    src[k] = (S){k, k * 0.5f, -k * 100000000000L, {k, k + 1, k + 2, k + 3, k + 4}};
    memset(&dst[k], 0x5a, sizeof dst[k]);
  }
  begin("copy");
  reg("s", src, sizeof src); reg("d", dst, sizeof dst);
  RUN(copy, (G S *)dst, (G S *)src);
  end();

  begin("clear");
  reg("d", src, sizeof src);
  RUN(clear, (G S *)src);
  end();

  static int ci[1], xi[N], oldi[N]; static long cl[1], xl[N], oldl[N];
  for (int k = 0; k < N; k++) xi[k] = k % 3 == 0 ? k & 1 : -1, xl[k] = k * 7;
  begin("atom");
  reg("ci", ci, sizeof ci); reg("cl", cl, sizeof cl); reg("xi", xi, sizeof xi);
  reg("xl", xl, sizeof xl); reg("oldi", oldi, sizeof oldi); reg("oldl", oldl, sizeof oldl);
  RUN(atom, (G int *)ci, (G long *)cl, (G int *)xi, (G long *)xl, (G int *)oldi, (G long *)oldl);
  end();

  begin("via_generic");
  reg("a", i32, sizeof i32);
  RUN(via_generic, (G int *)i32);
  end();

  static Node nodes[NODES]; static int out[N];
  int order[NODES] = {3, 0, 6, 2, 5, 1, 4};
  for (int k = 0; k < NODES; k++) {
    nodes[order[k]].val = (order[k] + 1) * 11;
    nodes[order[k]].next = k + 1 < NODES ? &nodes[order[k + 1]] : 0;
  }
  begin("chase");
  reg("nodes", nodes, sizeof nodes); reg("out", out, sizeof out);
  RUN(chase, (G Node *)&nodes[order[0]], (G int *)out);
  for (int k = 0; k < NODES; k++) // print links as indices, not addresses
    nodes[k].next = nodes[k].next ? (Node *)(nodes[k].next - nodes + 1) : 0;
  end();
  return 0;
}
