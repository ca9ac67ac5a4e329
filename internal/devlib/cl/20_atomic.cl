// ---- OpenCL 1.x atomics (s6.15.12.x of 1.2; relaxed ordering) ----
// Every atomic is one clang atomic builtin, i.e. one LLVM atomicrmw/cmpxchg/
// atomic load/store on the caller's pointer: svmrt rewrites those
// instructions on global and generic pointers into MMU operations, so an
// atomic must never become a lock or a function call.
#define RLX __ATOMIC_RELAXED
#define A1X(N, AS, T)                                                                    \
  T OVL N##_add(volatile AS T *p, T v) { return __atomic_fetch_add(p, v, RLX); }        \
  T OVL N##_sub(volatile AS T *p, T v) { return __atomic_fetch_sub(p, v, RLX); }        \
  T OVL N##_xchg(volatile AS T *p, T v) { return __atomic_exchange_n(p, v, RLX); }      \
  T OVL N##_inc(volatile AS T *p) { return __atomic_fetch_add(p, (T)1, RLX); }          \
  T OVL N##_dec(volatile AS T *p) { return __atomic_fetch_sub(p, (T)1, RLX); }          \
  T OVL N##_cmpxchg(volatile AS T *p, T c, T v) {                                        \
    T e = c;                                                                             \
    __atomic_compare_exchange_n(p, &e, v, false, RLX, RLX);                              \
    return e;                                                                            \
  }                                                                                      \
  T OVL N##_min(volatile AS T *p, T v) { return __atomic_fetch_min(p, v, RLX); }        \
  T OVL N##_max(volatile AS T *p, T v) { return __atomic_fetch_max(p, v, RLX); }        \
  T OVL N##_and(volatile AS T *p, T v) { return __atomic_fetch_and(p, v, RLX); }        \
  T OVL N##_or(volatile AS T *p, T v) { return __atomic_fetch_or(p, v, RLX); }          \
  T OVL N##_xor(volatile AS T *p, T v) { return __atomic_fetch_xor(p, v, RLX); }
#define A1X_AS(AS)                                                                       \
  A1X(atomic, AS, int) A1X(atomic, AS, uint) A1X(atom, AS, int) A1X(atom, AS, uint)      \
  A1X(atom, AS, long) A1X(atom, AS, ulong)                                               \
  float OVL atomic_xchg(volatile AS float *p, float v) {                                 \
    return as_float(__atomic_exchange_n((volatile AS uint *)p, as_uint(v), RLX));        \
  }
A1X_AS(__global)
A1X_AS(__local)

#if __OPENCL_C_VERSION__ >= 200
// ---- OpenCL 2.0 C11-style atomics (s6.15.12) ----
// Object address spaces: generic, plus __global/__local in OpenCL C 3.0.
#if __OPENCL_C_VERSION__ >= 300
#define FOR_OBJ_AS(M, ...) M(, __VA_ARGS__) M(__global, __VA_ARGS__) M(__local, __VA_ARGS__)
#else
#define FOR_OBJ_AS(M, ...) M(, __VA_ARGS__)
#endif
#define SC memory_order_seq_cst
#define DEV memory_scope_device

#define A2_LDST(AS, T, AT)                                                               \
  void OVL atomic_init(volatile AS AT *p, T v) { __opencl_atomic_init(p, v); }          \
  void OVL atomic_store(volatile AS AT *p, T v) { __opencl_atomic_store(p, v, SC, DEV); } \
  void OVL atomic_store_explicit(volatile AS AT *p, T v, memory_order o) { __opencl_atomic_store(p, v, o, DEV); } \
  void OVL atomic_store_explicit(volatile AS AT *p, T v, memory_order o, memory_scope s) { __opencl_atomic_store(p, v, o, s); } \
  T OVL atomic_load(volatile AS AT *p) { return __opencl_atomic_load(p, SC, DEV); }     \
  T OVL atomic_load_explicit(volatile AS AT *p, memory_order o) { return __opencl_atomic_load(p, o, DEV); } \
  T OVL atomic_load_explicit(volatile AS AT *p, memory_order o, memory_scope s) { return __opencl_atomic_load(p, o, s); } \
  T OVL atomic_exchange(volatile AS AT *p, T v) { return __opencl_atomic_exchange(p, v, SC, DEV); } \
  T OVL atomic_exchange_explicit(volatile AS AT *p, T v, memory_order o) { return __opencl_atomic_exchange(p, v, o, DEV); } \
  T OVL atomic_exchange_explicit(volatile AS AT *p, T v, memory_order o, memory_scope s) { return __opencl_atomic_exchange(p, v, o, s); }

#define A2_CX1(KIND, OAS, EAS, T, AT)                                                    \
  bool OVL atomic_compare_exchange_##KIND(volatile OAS AT *p, EAS T *e, T d) {           \
    return __opencl_atomic_compare_exchange_##KIND(p, e, d, SC, SC, DEV);                \
  }                                                                                      \
  bool OVL atomic_compare_exchange_##KIND##_explicit(volatile OAS AT *p, EAS T *e, T d, memory_order s, memory_order f) { \
    return __opencl_atomic_compare_exchange_##KIND(p, e, d, s, f, DEV);                  \
  }                                                                                      \
  bool OVL atomic_compare_exchange_##KIND##_explicit(volatile OAS AT *p, EAS T *e, T d, memory_order s, memory_order f, memory_scope sc) { \
    return __opencl_atomic_compare_exchange_##KIND(p, e, d, s, f, sc);                   \
  }
#define A2_CX(OAS, EAS, T, AT) A2_CX1(strong, OAS, EAS, T, AT) A2_CX1(weak, OAS, EAS, T, AT)

#define A2_OP(AS, OP, T, AT, VT)                                                         \
  T OVL atomic_fetch_##OP(volatile AS AT *p, VT v) { return __opencl_atomic_fetch_##OP(p, v, SC, DEV); } \
  T OVL atomic_fetch_##OP##_explicit(volatile AS AT *p, VT v, memory_order o) { return __opencl_atomic_fetch_##OP(p, v, o, DEV); } \
  T OVL atomic_fetch_##OP##_explicit(volatile AS AT *p, VT v, memory_order o, memory_scope s) { return __opencl_atomic_fetch_##OP(p, v, o, s); }
#define A2_INT(AS, T, AT)                                                                \
  A2_LDST(AS, T, AT) A2_OP(AS, add, T, AT, T) A2_OP(AS, sub, T, AT, T) A2_OP(AS, or, T, AT, T) \
  A2_OP(AS, xor, T, AT, T) A2_OP(AS, and, T, AT, T) A2_OP(AS, min, T, AT, T) A2_OP(AS, max, T, AT, T)

#if __OPENCL_C_VERSION__ >= 300
#define A2_MIX(AS, OP) A2_OP(AS, OP, uintptr_t, atomic_uintptr_t, intptr_t) A2_OP(AS, OP, intptr_t, atomic_intptr_t, uintptr_t)
#else
#define A2_MIX(AS, OP)
#endif
#define A2_AS(AS, _)                                                                     \
  A2_INT(AS, int, atomic_int) A2_INT(AS, uint, atomic_uint)                              \
  A2_INT(AS, long, atomic_long) A2_INT(AS, ulong, atomic_ulong)                          \
  A2_LDST(AS, float, atomic_float) A2_LDST(AS, double, atomic_double)                    \
  /* atomic_uintptr_t with a ptrdiff_t operand */                                        \
  A2_OP(AS, add, uintptr_t, atomic_uintptr_t, ptrdiff_t) A2_OP(AS, sub, uintptr_t, atomic_uintptr_t, ptrdiff_t) \
  /* OpenCL C 3.0: bitwise/min/max on atomic_(u)intptr_t with an operand of the other signedness */ \
  A2_MIX(AS, or) A2_MIX(AS, xor) A2_MIX(AS, and) A2_MIX(AS, min) A2_MIX(AS, max) \
  bool OVL atomic_flag_test_and_set(volatile AS atomic_flag *p) { return __opencl_atomic_exchange(p, 1, SC, DEV) != 0; } \
  bool OVL atomic_flag_test_and_set_explicit(volatile AS atomic_flag *p, memory_order o) { return __opencl_atomic_exchange(p, 1, o, DEV) != 0; } \
  bool OVL atomic_flag_test_and_set_explicit(volatile AS atomic_flag *p, memory_order o, memory_scope s) { return __opencl_atomic_exchange(p, 1, o, s) != 0; } \
  void OVL atomic_flag_clear(volatile AS atomic_flag *p) { __opencl_atomic_store(p, 0, SC, DEV); } \
  void OVL atomic_flag_clear_explicit(volatile AS atomic_flag *p, memory_order o) { __opencl_atomic_store(p, 0, o, DEV); } \
  void OVL atomic_flag_clear_explicit(volatile AS atomic_flag *p, memory_order o, memory_scope s) { __opencl_atomic_store(p, 0, o, s); }
FOR_OBJ_AS(A2_AS, )

#define A2_CX_T(OAS, EAS)                                                                \
  A2_CX(OAS, EAS, int, atomic_int) A2_CX(OAS, EAS, uint, atomic_uint)                    \
  A2_CX(OAS, EAS, long, atomic_long) A2_CX(OAS, EAS, ulong, atomic_ulong)                \
  A2_CX(OAS, EAS, float, atomic_float) A2_CX(OAS, EAS, double, atomic_double)
A2_CX_T(, )
#if __OPENCL_C_VERSION__ >= 300
#define A2_CX_E(OAS) A2_CX_T(OAS, __global) A2_CX_T(OAS, __local) A2_CX_T(OAS, __private)
A2_CX_E(__global)
A2_CX_E(__local)
#endif

void OVL atomic_work_item_fence(cl_mem_fence_flags f, memory_order o, memory_scope s) { __svm_fence(f); }
#endif
