// ---- work-item functions (OpenCL C 3.0 s6.15.1) ----
uint OVL get_work_dim(void) { return __svm_work_dim(); }
size_t OVL get_global_size(uint d) { return __svm_global_size(d); }
size_t OVL get_global_id(uint d) { return __svm_global_id(d); }
size_t OVL get_local_size(uint d) { return __svm_local_size(d); }
size_t OVL get_local_id(uint d) { return __svm_local_id(d); }
size_t OVL get_num_groups(uint d) { return __svm_num_groups(d); }
size_t OVL get_group_id(uint d) { return __svm_group_id(d); }
size_t OVL get_global_offset(uint d) { return __svm_global_offset(d); }
#if __OPENCL_C_VERSION__ >= 200
size_t OVL get_enqueued_local_size(uint d) { return __svm_enqueued_local_size(d); }
size_t OVL get_global_linear_id(void) { return __svm_global_linear_id(); }
size_t OVL get_local_linear_id(void) { return __svm_local_linear_id(); }
#endif

// ---- synchronisation and fences (s6.15.9, s6.15.10) ----
void OVL barrier(cl_mem_fence_flags f) { __svm_barrier(f); }
#if __OPENCL_C_VERSION__ >= 200
void OVL work_group_barrier(cl_mem_fence_flags f) { __svm_barrier(f); }
void OVL work_group_barrier(cl_mem_fence_flags f, memory_scope s) { __svm_barrier(f); }
#endif
void OVL mem_fence(cl_mem_fence_flags f) { __svm_fence(f); }
void OVL read_mem_fence(cl_mem_fence_flags f) { __svm_fence(f); }
void OVL write_mem_fence(cl_mem_fence_flags f) { __svm_fence(f); }

// ---- async copies (s6.15.13) ----
// Every work-item of the group calls these with the same arguments; each copies
// the elements i = local_linear_id, +local_size, ... and the copy is complete
// once wait_group_events (a work-group barrier) returns. The event returned is
// the one passed in: wait_group_events waits for all copies of the group.
static size_t __svm_lsize(void) { return __svm_local_size(0) * __svm_local_size(1) * __svm_local_size(2); }
#define ASYNC(T, DA, SA)                                                                 \
  event_t OVL async_work_group_copy(DA T *dst, const SA T *src, size_t n, event_t ev) {  \
    size_t st = __svm_lsize();                                                           \
    for (size_t i = __svm_local_linear_id(); i < n; i += st) dst[i] = src[i];            \
    return ev;                                                                           \
  }
#define ASYNC_ST_G2L(T)                                                                  \
  event_t OVL async_work_group_strided_copy(__local T *dst, const __global T *src, size_t n, size_t stride, event_t ev) { \
    size_t st = __svm_lsize();                                                           \
    for (size_t i = __svm_local_linear_id(); i < n; i += st) dst[i] = src[i * stride];   \
    return ev;                                                                           \
  }
#define ASYNC_ST_L2G(T)                                                                  \
  event_t OVL async_work_group_strided_copy(__global T *dst, const __local T *src, size_t n, size_t stride, event_t ev) { \
    size_t st = __svm_lsize();                                                           \
    for (size_t i = __svm_local_linear_id(); i < n; i += st) dst[i * stride] = src[i];   \
    return ev;                                                                           \
  }
#define PREFETCH(T) void OVL prefetch(const __global T *p, size_t n) {}
#define ASYNC_ALL(T, _)                                                                  \
  ASYNC(T, __local, __global) ASYNC(T, __global, __local) ASYNC_ST_G2L(T) ASYNC_ST_L2G(T) PREFETCH(T)
#define ASYNC_VEC(T, _) ASYNC_ALL(T, ) ASYNC_ALL(T##2, ) ASYNC_ALL(T##3, ) ASYNC_ALL(T##4, ) ASYNC_ALL(T##8, ) ASYNC_ALL(T##16, )
FOR_ALL(ASYNC_VEC, )
ASYNC_VEC(half, )
void OVL wait_group_events(int n, event_t *evs) { __svm_barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE); }
#if __OPENCL_C_VERSION__ < 200
// clang-15 quirk: in OpenCL C 1.2 the default header's wait_group_events is
// called with a generic event pointer (_Z...PU9CLgeneric9ocl_event), which
// 1.2 source cannot spell; bind that symbol by an asm label.
void __svm_wait_group_events_generic(int n, event_t *evs) __asm__("_Z17wait_group_eventsiPU9CLgeneric9ocl_event");
void __svm_wait_group_events_generic(int n, event_t *evs) { __svm_barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE); }
#endif
#if defined(__opencl_c_generic_address_space)
// get_fence: the address space of a generic pointer is not tracked, so the
// conservative answer covers both global and local memory.
cl_mem_fence_flags OVL get_fence(const void *p) { return CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE; }
cl_mem_fence_flags OVL get_fence(void *p) { return CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE; }
#endif
