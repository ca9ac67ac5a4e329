package svm

import (
	"syscall"
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// A device's arena, the memory its frames live in, is one of two kinds.
//
// Where the kernel has UFFDIO_MOVE (Linux 6.8) it is zero-copy: private
// anonymous memory registered with the userfaultfd like a program's own
// mappings, so a migration moves a host page into a frame as it is and a
// page coming home moves back (uffd.AttachDevice). Its frames hold memory
// only while a page lives in them. It lies between PROT_NONE guards (a
// page below, 1 MiB above) so that it never merges with a neighbouring
// private mapping, which would then look like device memory — the upper
// guard is 1 MiB because a mapping right above a small PROT_NONE region is
// taken for a thread stack above its guard page (classifySystem). A forked
// child does not inherit it (the service thread gives the child copies of
// the device's pages), and transparent huge pages are off, so that every
// frame moves alone.
//
// Otherwise it is shared anonymous memory: never migrated, never merged
// with a user mapping, and copied into and out of.
//
// To the CPU either kind is ordinary read-write memory. Memory commands
// refuse a range in an arena (it is device memory, not a host address), but
// a stray store through a wild pointer into a present frame lands. Closing
// that hole would take memory protection keys (a key the device's threads
// enable and every other thread leaves disabled; this VM's CPU reports no
// pku) or a second, private view of the frames for the device's own
// accesses, which a zero-copy arena cannot have: private anonymous memory
// has exactly one mapping, and UFFDIO_MOVE works only on such memory.

const (
	arenaGuardBelow = PageSize
	arenaGuardAbove = 1 << 20
)

// mapArena maps an arena of bytes and returns the whole mapping (to unmap),
// the address of its first frame, and whether it is a zero-copy one (for
// uffd.AttachDevice).
func mapArena(bytes int) (m []byte, base uintptr, zeroCopy bool, err error) {
	if !uffd.ZapByMove() {
		m, err := syscall.Mmap(-1, 0, bytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err != nil {
			return nil, 0, false, err
		}
		return m, uintptr(unsafe.Pointer(&m[0])), false, nil
	}
	m, err = syscall.Mmap(-1, 0, arenaGuardBelow+bytes+arenaGuardAbove, syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, 0, false, err
	}
	frames := m[arenaGuardBelow : arenaGuardBelow+bytes]
	for _, step := range []func() error{
		func() error { return syscall.Mprotect(frames, syscall.PROT_READ|syscall.PROT_WRITE) },
		func() error { return syscall.Madvise(frames, syscall.MADV_DONTFORK) },
		func() error { return syscall.Madvise(frames, syscall.MADV_NOHUGEPAGE) },
	} {
		if err := step(); err != nil {
			syscall.Munmap(m)
			return nil, 0, false, err
		}
	}
	return m, uintptr(unsafe.Pointer(&frames[0])), true, nil
}
