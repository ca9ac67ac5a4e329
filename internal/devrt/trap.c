// trap.c: turning a hardware fault inside a kernel into a failed work-group.
//
// Native kernels (the cpu device) dereference the program's pointers
// directly, so a bad pointer or index raises SIGSEGV or SIGBUS, and an
// integer division by zero SIGFPE, on the thread running the SM. Go's
// handler would end the process ("signal arrived during cgo execution").
// dr_trap_install puts a handler in front of Go's: a signal raised by the
// hardware while this thread runs a work-item's fiber (run_fiber armed
// dr_trap_jmp) jumps back to run_fiber, which fails the item's group with
// DR_FAIL_SEGV and the faulting address; every other signal goes on to the
// handler that was installed before (Go's), unchanged.
//
// The handler is installed with SA_NODEFER and an empty mask, so jumping out
// of it leaves the thread's signal mask as it was and run_fiber can use the
// cheap sigsetjmp(…, 0). It runs on the thread's alternate signal stack
// (Go gives every thread one; SA_ONSTACK as Go requires of foreign handlers).
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include "trap.h"

__thread sigjmp_buf *dr_trap_jmp;
__thread uint64_t dr_trap_addr;
__thread int dr_trap_sig;

static struct sigaction old_segv, old_bus, old_fpe;

static void forward(int sig, siginfo_t *si, void *uc) {
	struct sigaction *o = sig == SIGSEGV ? &old_segv : sig == SIGBUS ? &old_bus : &old_fpe;
	if (o->sa_flags & SA_SIGINFO) {
		o->sa_sigaction(sig, si, uc);
		return;
	}
	if (o->sa_handler == SIG_IGN) return;
	if (o->sa_handler == SIG_DFL) {
		// Re-raise with the default action (the fault repeats on return).
		signal(sig, SIG_DFL);
		return;
	}
	o->sa_handler(sig);
}

static void handler(int sig, siginfo_t *si, void *uc) {
	sigjmp_buf *j = dr_trap_jmp;
	// si_code > 0: raised by the hardware, not sent by kill or tgkill.
	if (j && si->si_code > 0) {
		dr_trap_jmp = NULL;
		dr_trap_addr = (uint64_t)si->si_addr;
		dr_trap_sig = sig;
		siglongjmp(*j, 1);
	}
	forward(sig, si, uc);
}

int dr_trap_install(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) != 0) return -1;
	if (sigaction(SIGBUS, &sa, &old_bus) != 0) return -1;
	if (sigaction(SIGFPE, &sa, &old_fpe) != 0) return -1;
	return 0;
}
