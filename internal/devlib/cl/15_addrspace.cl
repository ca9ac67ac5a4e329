// Address space qualifier functions (OpenCL C 3.0 §6.15.16, generic address
// space). clang lowers to_global, to_local and to_private to calls of these
// unmangled functions; the runtime says which named address space a generic
// pointer points into (__svm_addr_space: the group's __local memory, the
// work-item's own stack, or global memory). A pointer into another space
// gives NULL.
#if defined(__opencl_c_generic_address_space) || __OPENCL_C_VERSION__ == 200
__global void *__to_global(__generic void *p) {
	return __svm_addr_space((__private const void *)p) == 1 ? (__global void *)p : (__global void *)0;
}
__local void *__to_local(__generic void *p) {
	return __svm_addr_space((__private const void *)p) == 3 ? (__local void *)p : (__local void *)0;
}
__private void *__to_private(__generic void *p) {
	return __svm_addr_space((__private const void *)p) == 0 ? (__private void *)p : (__private void *)0;
}
#endif
