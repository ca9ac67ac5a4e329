// kernelfault.h: a kernel's SIGSEGV on the OpenCL implementation's own
// threads stops that thread and is reported, instead of killing the process
// (see kernelfault.c).
#ifndef SVMRT_KERNELFAULT_H
#define SVMRT_KERNELFAULT_H

#include <stdint.h>

#define KF_MAX_FAULTS 64
#define KF_NAME_LEN 128

// One kernel fault, as the handler recorded it.
struct kf_fault {
	uintptr_t addr;  // si_addr: the address the kernel touched
	uintptr_t pc;    // the faulting instruction, in the kernel's code
	int write;       // 1 write, 0 read, -1 unknown (not x86-64)
	int tid;         // the stopped thread
	int sig;         // SIGSEGV or SIGBUS
	char kernel[KF_NAME_LEN]; // the kernel's code object (PoCL: <kernel>.so)
};

// kf_install puts the handler in front of the current SIGSEGV and SIGBUS
// handlers
// (once) and returns the read end of the pipe the handler writes a byte to
// per fault, or -1 with errno set.
int kf_install(void);
// kf_begin and kf_end bracket a kernel on the device: only while one runs
// does the handler look at a fault at all.
void kf_begin(void);
void kf_end(void);
// kf_count is the number of faults recorded so far (some may be beyond
// KF_MAX_FAULTS and lost); kf_get copies fault i, 0 if it is not recorded
// (yet).
int kf_count(void);
int kf_get(int i, struct kf_fault *out);

// kf_handler_addr is the handler's address, kf_forward_addr that of the
// handler it forwards other signals to (for the tests).
uintptr_t kf_handler_addr(void);
uintptr_t kf_forward_addr(int sig);

#endif
