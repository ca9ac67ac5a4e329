// kernelfault.c: a SIGSEGV raised by a kernel on the OpenCL implementation's
// own threads (SIGSEGV, and SIGBUS: a file mapping read past the file's
// end).
//
// PoCL runs kernels on its worker threads (pthreads Go knows nothing of). A
// kernel that reads or writes past the end of its argument's mapping — a
// short pointer, which the launch's checks cannot see because they cannot
// know how far a kernel reads — takes SIGSEGV there. Go's handler cannot
// turn a fault on a foreign thread into a panic and kills the process.
//
// The handler here runs in front of Go's. For a hardware SIGSEGV or SIGBUS (si_code
// > 0) while a kernel is in flight (kf_begin..kf_end) whose faulting
// instruction lies in a kernel's code — an executable mapping of a file in
// PoCL's kernel cache (a path with "/kcache/"), found by reading
// /proc/self/maps — it records the fault, writes a byte to a pipe the Go side
// reads, and stops the thread for good: it blocks every signal and sleeps
// in pause() until the process exits. Every other
// signal goes on to the handler that was installed before (Go's), unchanged.
//
// Why stop the thread rather than resume it: the faulting instruction can
// only be retried, so resuming means mapping memory under it, and a kernel
// that then runs on (a linear overrun) reaches past the hole into whatever
// mapping follows and writes the program's data. Jumping out of the kernel
// needs PoCL's cooperation (a setjmp point in its worker loop) that it does
// not offer. Stopped, the kernel touches nothing more on that thread; the
// price is that the command never completes and the implementation has lost
// a worker, so the Go side marks the device lost (every later command is an
// error) — as a GPU driver kills a context after an unrecoverable page
// fault.
//
// Async-signal safety: the handler uses only syscalls (open, read, close,
// write, gettid, pause, rt_sigprocmask), atomics, and a static buffer for /proc/self/maps
// under a spin lock (two threads may fault at once). It runs on the thread's
// alternate signal stack when it has one (SA_ONSTACK, as Go requires of
// handlers in front of its own); PoCL's workers have none and use their own
// stacks.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "kernelfault.h"

static struct sigaction kf_old_segv, kf_old_bus; // the handlers forwarded to
static int kf_installed;
static int kf_pipe[2] = {-1, -1};
static int kf_active;  // kernels in flight
static int kf_n;       // faults recorded (slots claimed)
static struct kf_fault kf_faults[KF_MAX_FAULTS];
static int kf_ready[KF_MAX_FAULTS];

static int kf_lock;
static char kf_buf[64 << 10];

static void forward(int sig, siginfo_t *si, void *uc) {
	struct sigaction *o = sig == SIGBUS ? &kf_old_bus : &kf_old_segv;
	if (o->sa_flags & SA_SIGINFO) {
		o->sa_sigaction(sig, si, uc);
		return;
	}
	if (o->sa_handler == SIG_IGN) return;
	if (o->sa_handler == SIG_DFL) {
		signal(sig, SIG_DFL); // the fault repeats on return, now fatal
		return;
	}
	o->sa_handler(sig);
}

static uintptr_t hex(const char **p, const char *end) {
	uintptr_t x = 0;
	for (; *p < end; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9') x = x << 4 | (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f') x = x << 4 | (uintptr_t)(c - 'a' + 10);
		else break;
	}
	return x;
}

// in_line reports whether line [l, e) of /proc/self/maps is an executable
// mapping of a kernel-cache file containing pc; then it copies the file's
// base name to name.
static int in_line(const char *l, const char *e, uintptr_t pc, char *name) {
	const char *p = l;
	uintptr_t start = hex(&p, e);
	if (p >= e || *p != '-') return 0;
	p++;
	uintptr_t end = hex(&p, e);
	if (pc < start || pc >= end) return 0;
	if (e - p < 5 || p[3] != 'x') return 0;
	const char *k = memmem(p, (size_t)(e - p), "/kcache/", 8);
	if (!k) return 0;
	const char *base = k;
	for (const char *q = k; q < e; q++)
		if (*q == '/') base = q + 1;
	size_t n = (size_t)(e - base);
	if (n >= KF_NAME_LEN) n = KF_NAME_LEN - 1;
	memcpy(name, base, n);
	name[n] = 0;
	return 1;
}

// kernel_code reports whether pc is in a kernel's code (see in_line).
static int kernel_code(uintptr_t pc, char *name) {
	while (__atomic_exchange_n(&kf_lock, 1, __ATOMIC_ACQUIRE))
		;
	int found = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		size_t have = 0;
		for (;;) {
			ssize_t k = read(fd, kf_buf + have, sizeof kf_buf - have);
			if (k < 0 && errno == EINTR) continue;
			if (k <= 0) break;
			have += (size_t)k;
			char *l = kf_buf, *end = kf_buf + have, *nl;
			while ((nl = memchr(l, '\n', (size_t)(end - l))) != NULL) {
				if (in_line(l, nl, pc, name)) { found = 1; break; }
				l = nl + 1;
			}
			if (found) break;
			have = (size_t)(end - l);
			if (have == sizeof kf_buf) have = 0; // a line longer than the buffer: drop it
			memmove(kf_buf, l, have);
		}
		close(fd);
	}
	__atomic_store_n(&kf_lock, 0, __ATOMIC_RELEASE);
	return found;
}

static void handler(int sig, siginfo_t *si, void *ucv) {
	if (si->si_code > 0 && __atomic_load_n(&kf_active, __ATOMIC_ACQUIRE) > 0) {
		ucontext_t *uc = ucv;
		uintptr_t pc = 0;
		int wr = -1;
#if defined(__x86_64__)
		pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
		wr = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0; // the page-fault error code's W bit
#elif defined(__aarch64__)
		pc = (uintptr_t)uc->uc_mcontext.pc;
#endif
		char name[KF_NAME_LEN];
		if (pc != 0 && kernel_code(pc, name)) {
			int i = __atomic_fetch_add(&kf_n, 1, __ATOMIC_ACQ_REL);
			if (i < KF_MAX_FAULTS) {
				struct kf_fault *f = &kf_faults[i];
				f->addr = (uintptr_t)si->si_addr;
				f->pc = pc;
				f->write = wr;
				f->tid = (int)syscall(SYS_gettid);
				f->sig = sig;
				memcpy(f->kernel, name, KF_NAME_LEN);
				__atomic_store_n(&kf_ready[i], 1, __ATOMIC_RELEASE);
			}
			char b = 1;
			while (write(kf_pipe[1], &b, 1) < 0 && errno == EINTR)
				;
			sigset_t all;
			sigfillset(&all);
			pthread_sigmask(SIG_BLOCK, &all, NULL); // nothing wakes or interrupts the stopped thread
			for (;;) pause();                       // never returns
		}
	}
	forward(sig, si, ucv);
}

int kf_install(void) {
	static int mu; // Go calls this once (sync.Once); the lock is belt and braces
	while (__atomic_exchange_n(&mu, 1, __ATOMIC_ACQUIRE))
		;
	int rc = kf_pipe[0];
	if (!kf_installed) {
		rc = -1;
		if (pipe2(kf_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_sigaction = handler;
			// SA_NODEFER and an empty mask: a handler forwarded to may
			// leave by siglongjmp without restoring the mask (devrt's
			// trap does, for the cpu device's native kernels); with
			// SIGSEGV left blocked, the thread's next fault would kill
			// the process.
			sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
			sigemptyset(&sa.sa_mask);
			if (sigaction(SIGSEGV, &sa, &kf_old_segv) == 0 && sigaction(SIGBUS, &sa, &kf_old_bus) == 0) {
				kf_installed = 1;
				rc = kf_pipe[0];
			} else {
				int e = errno;
				close(kf_pipe[0]);
				close(kf_pipe[1]);
				kf_pipe[0] = kf_pipe[1] = -1;
				errno = e;
			}
		}
	}
	__atomic_store_n(&mu, 0, __ATOMIC_RELEASE);
	return rc;
}

uintptr_t kf_handler_addr(void) { return (uintptr_t)handler; }
uintptr_t kf_forward_addr(int sig) { return (uintptr_t)(sig == SIGBUS ? kf_old_bus : kf_old_segv).sa_sigaction; }

void kf_begin(void) { __atomic_add_fetch(&kf_active, 1, __ATOMIC_ACQ_REL); }
void kf_end(void) { __atomic_sub_fetch(&kf_active, 1, __ATOMIC_ACQ_REL); }

int kf_count(void) { return __atomic_load_n(&kf_n, __ATOMIC_ACQUIRE); }

int kf_get(int i, struct kf_fault *out) {
	if (i < 0 || i >= KF_MAX_FAULTS || !__atomic_load_n(&kf_ready[i], __ATOMIC_ACQUIRE)) return 0;
	*out = kf_faults[i];
	return 1;
}
