// trap.h: hardware faults in kernels (see trap.c).
#ifndef DEVRT_TRAP_H
#define DEVRT_TRAP_H

#include <setjmp.h>
#include <stdint.h>

// Armed by run_fiber while a fiber runs; the handler jumps to it.
extern __thread sigjmp_buf *dr_trap_jmp;
// The fault the handler caught: its address and signal.
extern __thread uint64_t dr_trap_addr;
extern __thread int dr_trap_sig;

int dr_trap_install(void);

#endif
