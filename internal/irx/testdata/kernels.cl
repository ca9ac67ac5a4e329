// Kernels for the execution test: each form of global/generic access the
// instrumentation must route through the MMU.

typedef struct { int a; float b; long c; char d[5]; } S;
typedef struct Node { __global struct Node *next; int val; } Node;

// OpenCL 1.x atomics, defined here because the test links no builtins library.
__attribute__((overloadable)) int atomic_add(volatile __global int *p, int v) {
  return __opencl_atomic_fetch_add((volatile __global atomic_int *)p, v, memory_order_relaxed, memory_scope_device);
}
__attribute__((overloadable)) long atomic_add(volatile __global long *p, long v) {
  return __opencl_atomic_fetch_add((volatile __global atomic_long *)p, v, memory_order_relaxed, memory_scope_device);
}
__attribute__((overloadable)) int atomic_xchg(volatile __global int *p, int v) {
  return __opencl_atomic_exchange((volatile __global atomic_int *)p, v, memory_order_relaxed, memory_scope_device);
}
__attribute__((overloadable)) long atomic_xchg(volatile __global long *p, long v) {
  return __opencl_atomic_exchange((volatile __global atomic_long *)p, v, memory_order_relaxed, memory_scope_device);
}
__attribute__((overloadable)) int atomic_cmpxchg(volatile __global int *p, int cmp, int v) {
  __opencl_atomic_compare_exchange_strong((volatile __global atomic_int *)p, &cmp, v, memory_order_relaxed, memory_order_relaxed, memory_scope_device);
  return cmp;
}
__attribute__((overloadable)) long atomic_cmpxchg(volatile __global long *p, long cmp, long v) {
  __opencl_atomic_compare_exchange_strong((volatile __global atomic_long *)p, &cmp, v, memory_order_relaxed, memory_order_relaxed, memory_scope_device);
  return cmp;
}

__kernel void scalars(__global char *c, __global short *s, __global int *i, __global long *l,
                      __global float *f, __global double *d) {
  size_t g = get_global_id(0);
  c[g] = c[g] * 3 + 1;
  s[g] = s[g] * 3 + 1;
  i[g] = i[g] * 3 + 1;
  l[g] = l[g] * 3 + 1;
  f[g] = f[g] * 2.5f;
  d[g] = d[g] * 0.5;
}

__kernel void saxpy(__global const float *x, __global float *y, float a) {
  size_t g = get_global_id(0);
  y[g] = a * x[g] + y[g];
}

__kernel void vec(__global float4 *a, __global float3 *b) {
  size_t g = get_global_id(0);
  a[g] = a[g] * 2.0f;
  b[g] = b[g] + (float3)(1.0f, 2.0f, 3.0f);
}

__kernel void copy(__global S *d, __global const S *s) {
  size_t g = get_global_id(0);
  d[g] = s[g];
}

__kernel void clear(__global S *d) {
  size_t g = get_global_id(0);
  d[g] = (S){0};
}

__kernel void atom(__global int *ci, __global long *cl, __global int *xi, __global long *xl,
                   __global int *oldi, __global long *oldl) {
  size_t g = get_global_id(0);
  atomic_add(ci, 1);
  atomic_add(cl, (long)g);
  oldi[g] = atomic_cmpxchg(&xi[g], (int)(g & 1), (int)g * 2);
  oldl[g] = atomic_xchg(&xl[g], (long)g * 3);
  atomic_xchg(&xi[g], atomic_cmpxchg(&xi[g], -1, 0) + 0);
  atomic_cmpxchg(&xl[g], (long)g * 3, (long)g * 5);
}

// generic address space: called with global pointers
__attribute__((noinline)) void bump(int *p, int by) { *p += by; }

__kernel void via_generic(__global int *a) {
  size_t g = get_global_id(0);
  bump(&a[g], (int)g);
}

__kernel void chase(__global Node *head, __global int *out) {
  size_t g = get_global_id(0);
  int s = 0;
  for (__global Node *n = head; n; n = n->next)
    s += n->val;
  out[g] = s + (int)g;
}
