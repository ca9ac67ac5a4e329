// Package irx instruments textual LLVM IR (LLVM 15, opaque pointers, as
// printed by llvm-dis-15) so that every access to device-visible memory goes
// through the simulated GPU's MMU.
//
// # Why
//
// svmrt gives kernels OpenCL 2.0 fine-grained system SVM semantics: any
// global (address space 1), constant (2) or generic (4) pointer may name a
// page that the runtime is migrating, has protected or has not yet faulted
// in. The simulated MMU can only translate, fault and track what it sees, so
// it must see every such access — including the ones inside the builtins
// library, which is why the rewrite runs after the builtins have been linked
// into the kernel module and the module has been optimised. Private (0) and
// local (3) memory is per work-item / per work-group scratch the runtime owns
// and is left alone.
//
// # What is rewritten
//
//   - load T, ptr addrspace(N) p  →  h = __svm_ld(p, sizeof T); load T, ptr h
//   - store T v, ptr addrspace(N) p → h = __svm_st(p, sizeof T); store T v,
//     ptr h; __svm_st_done(h, sizeof T). The runtime re-checks the page after
//     the store and replays it if the page moved between translation and
//     store.
//   - atomicrmw and cmpxchg become calls (__svm_rmw_OP_TY, __svm_cas_TY):
//     atomics must run inside the runtime, which serialises them against
//     migrations; a host pointer could go stale between translation and the
//     read-modify-write. cmpxchg's { T, i1 } result is rebuilt from the
//     returned old value.
//   - llvm.memcpy/memmove(.inline) and llvm.memset(.inline) with any operand in
//     address space 1, 2 or 4 become __svm_memcpy / __svm_memset; prefetches on
//     those address spaces are dropped. Other intrinsics that take such a
//     pointer (masked/gather/scatter/vp loads and stores, …) are rejected with
//     an *UnsupportedError rather than silently bypassing the MMU.
//
// Orderings and sync scopes of atomics are not passed on: the runtime's
// atomics are sequentially consistent, which is at least as strong as any
// ordering asked for. The volatile flag of memory intrinsics is dropped too.
//
// Functions that now call into the runtime (directly, or through a callee
// defined in the module) lose their memory-effect attributes (readnone,
// readonly, argmemonly, nosync, …), at definitions and at call sites: the
// runtime reads and writes its own state, and a stale attribute would let
// opt -O2 move or delete calls around it once the runtime's fast path has
// been inlined.
//
// Sizes are x86-64 store sizes, computed from the module's own named type
// definitions for aggregates. Inserted values are named %svm.N (skipping
// names the module already uses), so numbered values keep their numbers.
package irx
