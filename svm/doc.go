// Package svm is svmrt's userspace HMM core: it mirrors the process address
// space for devices, keeps a logical page table of where each page lives,
// migrates private anonymous pages between host and device memory, and
// brings pages home when the CPU touches them — with real userfaultfd faults.
//
// # Layers
//
//   - Maps: the CPU side as the kernel sees it (/proc/self/maps): which
//     addresses are mapped, with what protection, anonymous or file-backed,
//     private or shared. Re-read when the service thread reports an
//     unmap/remap and at a device operation's start; a device's fault batch
//     checks the mappings of the faulting pages against the kernel's
//     (VerifiedMaps, PROCMAP_QUERY) and re-reads them if one disagrees
//     (mprotect has no event: it is seen at the next fault on that memory).
//   - The logical page table (GMEM's term): one 64-bit word per 4 KiB page
//     in off-heap memory, in a radix tree whose leaves are allocated lazily
//     for the regions devices touch. A word holds a state, the owning device,
//     the device frame and a sequence number that changes on every
//     transition; device TLBs cache the word and treat any change as a
//     shootdown (lazy invalidation).
//   - DevMem: a device's private memory (an off-heap arena of 4 KiB frames)
//     and its allocator. Frames the host side releases (a CPU fault brought
//     the page home, munmap dropped it) are marked in a pending-free bitmap
//     and reclaimed by Alloc, which a device calls only when none of its
//     accesses is in flight — so a preempted device store can never land in
//     a frame that was handed to another page. While the device runs no
//     operation (DevMem.BeginAccess/EndAccess bracket each one) the
//     released frames hold no memory: a zero-copy arena's pages moved home
//     out of them; a shared arena's runs of at least 16 consecutive frames
//     (a munmap; a sequential reader's windows) are given back to the
//     kernel (MADV_REMOVE), so a buffer that went to the device and came
//     back is not resident twice. Shorter copied runs (a lone fault's page:
//     the shootdown would cost more than the fault), frames released during
//     an operation (its TLBs may still map them) and a zero-copy arena's
//     frames that a munmap released (the service thread may not madvise a
//     registered range) stay backed until reused.
//     Frames come off the free list in ascending order, so a migrated run's
//     frames are consecutive in the arena and leave it as one run.
//   - Zero-copy arenas (arena.go): where the kernel has UFFDIO_MOVE the
//     arena is private anonymous memory registered with the userfaultfd, so
//     a migration moves the host page itself into its frame, and a page
//     coming home while the device runs no operation moves back (during
//     one it is copied: a device access that validated its translation
//     just before may still read the frame). An absent frame reads as zero.
//     Moved both ways, 256 MiB went host→device at 6.5 GB/s and came back
//     at 6.8 GB/s here, against 0.5 and 1.5 GB/s copying (svmrt-bench
//     -sections movement).
//   - The fault-service thread (internal/uffd, in C): resolves CPU faults on
//     registered ranges and applies address-space events.
//
// # Page states (the word's state field)
//
//	HOST ──claim──▶ MIGRATING ──copy done──▶ ZAPPING ──zap, sync, unprotect──▶ DEVICE   (madvise zap)
//	HOST ──claim──▶ MIGRATING ──────────────▶ ZAPPING ──move, copy from sink──▶ DEVICE   (UFFDIO_MOVE)
//	  ▲                 │                       │                                 │
//	  │                 └──── munmap/discard ───┴──── munmap ──▶ HOST             │
//	  └──────────── RETURNING ◀──── CPU fault / explicit migration ──────────────┘
//	HOST ──▶ FILLING ──▶ HOST   (service thread installing a zero page)
//	HOST ──claim──▶ MIGRATING ──copy done──▶ DUP ──CPU write / evict / migrate / munmap──▶ HOST
//	                                  (read duplication: DevMem.Duplicate; the host page stays)
//
// HOST: the host page is the truth (present, or absent = zero). MIGRATING:
// a migrator owns the page. Where the kernel has UFFDIO_MOVE (6.8), the
// migrator marks it ZAPPING at once and the service thread moves the page
// out of the address space — straight into the frame (zero-copy arena), or
// into its sink and copies it from there into the frame (an absent page
// gives a zeroed frame): the move is the moment the
// content is taken, so CPU writes before it are in it and a CPU touch after
// it faults and waits for the publish; nothing is write-protected. Without
// UFFDIO_MOVE the page is write-protected (UFFDIO_WRITEPROTECT) so CPU
// writers block while the copy to the frame runs; ZAPPING then means the
// copy is complete and the host page is being dropped with MADV_DONTNEED. DEVICE:
// the frame is the truth; the host page is absent, so a CPU touch takes a
// MISSING fault. RETURNING: a thread is copying the frame home with
// UFFDIO_COPY. Every change is a compare-and-swap on the word; the thread
// that wins a CAS into a transitional state owns the page until it
// publishes a final state.
//
// DUP (read duplication): the frame holds a read-only copy and the host
// page stays present and write-protected, so host reads cost nothing. A CPU
// write takes a WP fault; the service thread collapses the copies (DUP →
// HOST, frame released, nothing copied) and unprotects. A device write
// faults (the device maps DUP pages read-only) and migrates the page, which
// collapses the duplicate first. Eviction, MigrateToHost, REMOVE/UNMAP and
// REMAP drop duplicates; FORK needs nothing (the host page is current).
// A page word names one device, so a page has at most one duplicate: a
// read by a second device drops the first device's copy and duplicates it
// anew (two GPUs reading the same read-mostly data take turns).
//
// The zap (ZAPPING) is made by the service thread with UFFDIO_MOVE into a
// sink of its own, not with madvise(MADV_DONTNEED) on the address: an
// mremap or munmap of the range racing with the migration leaves a hole
// there that any mmap may fill (the Go runtime's off-heap allocations did),
// and madvise would zap that memory. UFFDIO_MOVE fails while such a change
// has an unread event, and the service thread, which reads the events, runs
// the zap only after handling those it has read, so it moves only pages
// whose words the migration still holds. A page the kernel will not move
// (shared with a forked child, or its mapping's protection changed) is given
// up: it stays on the host. Kernels without UFFDIO_MOVE (before 6.8) zap
// with madvise and keep that gap.
//
// The migrator publishes DEVICE only after (1) the zap has returned — with
// madvise, the kernel blocks it until the service thread has read the
// REMOVE events of the zap, of which there can be several and repetitions
// when a concurrent mprotect splits the mapping, and (2) a sync with the
// service thread has confirmed those events were handled (the handler
// ignores ZAPPING pages, so it cannot mistake our own zap for a user's
// discard) — and (3) the range was unprotected while the pages were still
// ZAPPING (unprotecting after the publish could undo the protection of
// another migration that claimed a page since). With UFFDIO_MOVE only (1)
// applies: the move and the copy from the sink are one request the service
// thread runs after the events it has read, and nothing was protected. A
// user's MADV_DONTNEED that lands on a ZAPPING page before the move leaves
// an absent page, which moves as zeros — the discard took effect first.
// Pages that come home are
// published HOST before the faulting thread is woken
// (UFFDIO_COPY_MODE_DONTWAKE, then UFFDIO_WAKE).
//
// Every device→host copy is made by the service thread: on a CPU fault, or
// for an explicit migration (MigrateToHost, Release, another device's
// Migrate), which queues a request and waits for it. So RETURNING is only
// ever held by the service thread, synchronously, and device→host copies
// happen in order with the address-space events it reads. A CPU fault
// brings neighbours with it when the access is sequential (read-ahead):
// the service thread follows up to eight readers at once, each a stream
// whose window doubles, up to 64 pages per copy, when a fault lands on the
// page the stream expects next, so two threads scanning different halves
// of a buffer keep their windows. While a CPU fault log is on
// (cpufaultlog.go: the CPU's half of a page-access trace) there is no
// read-ahead: every fault brings one page, so every first touch of a device
// page is logged, in order.
//
// Address-space events: UNMAP and REMOVE drop device copies (frames go to
// the pending-free bitmap); REMAP moves DEVICE words to the new address. A
// copy home that finds its page gone (ENOENT: unmapped or moved) restores
// DEVICE and retries after the event has been applied. FORK: the child
// gets a copy of every device-resident page through its own userfaultfd,
// which is then closed (the child is an ordinary process); because copies
// home only happen in the service thread, after it has handled the FORK
// event, no page can slip home between the fork and that copy. The internal
// memory is MADV_DONTFORK. A device store made between the fork and the
// handling of its event may still reach the child (known, narrow).
//
// Registration: exactly the pages a migration moves are registered with
// userfaultfd (a mapping may hold more than the program's buffer — the
// kernel merges neighbouring anonymous mappings, thread stacks among them —
// and an absent registered page makes kernel accesses that cannot wait
// fail with EFAULT). A migration re-checks the mapping first, and never
// write-protects the stack or TLS of the thread running it (an address
// range unmapped and reused for that stack would make it fault on itself).
//
// # Internal memory
//
// Everything the service thread touches — the page table, the device
// registry, its bounce buffer, its stack and TLS — is shared anonymous
// memory (MAP_SHARED|MAP_ANONYMOUS), and the one C global, a pointer to it,
// lives in the executable's file-backed .data. Private anonymous memory
// (the Go heap, the executable's .bss where Go globals live) can migrate;
// if the service thread's own state were there, migrating a page of it
// would make the thread fault on itself. The exceptions are what
// UFFDIO_MOVE moves pages into, since it needs private anonymous memory on
// both sides: the sink the service thread moves zapped pages into, and
// zero-copy device arenas (without UFFDIO_MOVE arenas are shared anonymous
// too). PROT_NONE guards keep both from merging with a neighbouring
// mapping. Nothing reads or writes the sink. An arena's frames are absent
// until a page lives in them; the service thread never touches an absent
// one (it fills frames with UFFDIO ioctls, and the frame of every DEVICE,
// DUP or RETURNING word is present), so it cannot fault on itself there.
// Moves fill it front to back; the service thread empties it (unregister,
// MADV_DONTNEED, register: a zap of a registered range would wait for the
// service thread itself) when 2048 pages do not fit or after 1 ms of quiet.
//
// Sync needs no round trip: the service thread's iteration count is odd
// while it reads and handles messages and even while it waits in ppoll, and
// it reads only in odd periods. A munmap, mremap or madvise has had its
// event read when it returns, so once the count a caller saw odd has moved
// on (or if it was even) that event is handled. While a migration runs
// (svm_migrate_in) the service thread polls instead of sleeping, because
// the migration waits for it (the zap, faults of absent pages) and waking
// a sleeping thread costs more than the work.
//
// # Who waits for whom (the lock order of this package)
//
//	Go goroutines (migrators, device schedulers, Release)
//	  may wait for ──▶ the fault-service thread (madvise/munmap block until it reads
//	                     the event; Sync and the migrator's sync_wait until it handled it;
//	                     the migrator's zap and MigrateToHost until it ran their request)
//	                     waits for nothing but the kernel and for RETURNING pages, whose
//	                     owners (threads copying pages home) never wait for it; a fault
//	                     on a page another thread owns is deferred and retried.
//	Space.mu
//	  DevMem.mu        (frame allocator, arena)
//
// The service thread must never wait for a goroutine: a Go thread blocked in
// a fault holds its P, so with GOMAXPROCS=1 no goroutine can run until the
// fault is resolved.
//
// Every wait for pages to come home is bounded: a thread waiting for the
// service thread to bring pages home (MigrateToHost, Release, Evict) gives
// up with ETIMEDOUT after 10 s without progress (a page held in transit
// that never comes free), and the request's slot is freed by the service
// thread. A migrator's zap request is not abandoned (pages moved after the
// migrator gave up would be lost): the service thread finishes it as soon
// as it has read the address-space events in flight.
//
// # Device stores
//
// A device that writes a frame directly (the simulated GPU) does: load the
// word, check it is DEVICE on this device, store with a full barrier
// (atomic), load the word again; if it changed, the page moved while the
// store was in flight and the store is replayed through the slow path. The
// returning thread's CAS is also a full barrier, so either the device sees
// the new word or the returning copy sees the store (Dekker). Loads use the
// same word check before and after (a seqlock read).
//
// # What migrates (the migration rule)
//
// The program's own private anonymous memory migrates: the Go heap, the
// executable's .bss (Go globals), mmap(MAP_PRIVATE|MAP_ANONYMOUS), C
// malloc — whatever its protection, as Linux's migrate_vma moves it, except
// PROT_NONE (no device may touch it: a device access or an explicit
// migration is a device fault). A read-only page keeps its protection on
// the device: the device maps it read-only (a device write is
// ErrPermission), a CPU read brings it home (UFFDIO_COPY fills read-only
// mappings too), a CPU write is the SIGSEGV it always was. UFFDIO_MOVE moves
// pages only between writable mappings, so read-only pages migrate by
// write-protect, copy and zap. Shared anonymous and file-backed mappings are mirrored — a
// device maps the host page and accesses it remotely — but never migrated,
// as in kernel HMM. So is the memory of the process's own machinery
// (KindSystem, KindStack): a shared library's .bss (libc's, the dynamic
// loader's), the loader's first allocations (the mapping below [vvar]), the
// main thread's static TLS, glibc thread stacks with their TLS (a mapping
// above a small PROT_NONE guard), the main thread's [stack], the Go
// runtime's and glibc's named mappings where the kernel names anonymous
// memory ([anon: Go: ...] other than the heap, [anon: glibc: ...]).
//
// Why: kernel HMM can migrate any page because the kernel never faults on
// itself. Here the migrating thread runs libc (madvise, ioctl, errno in its
// TLS) while it owns pages in transit, and a fault on a page it owns is
// deferred to the page's owner — itself — forever. The rule is decided in
// one place, VMA.Migratable, over the classification ParseMaps makes
// (classifySystem); Migrate refuses other mappings with ErrNotSupported
// naming the mapping, devices map them remotely, and memory commands refuse
// to write them (Maps.CheckRange). Two more guards cover what /proc/self/maps
// cannot show: the migrating thread stays on one OS thread and refuses the
// mappings holding its own stack pointer and thread pointer, and it blocks
// signals while it owns pages (the Go runtime's signal handlers touch Go
// memory that may be in transit).
//
// Known gap: the loader's allocations below [vvar] are recorded when the
// process starts; a runtime that frees them later (the race detector's
// does) leaves a recorded range a program's next mmap may land in, and that
// mapping is then mirrored, not migrated (Migrate says ErrNotSupported).
//
// Known gap: the Go runtime's non-heap metadata (span structures, bitmaps)
// lives in unnamed anonymous mappings that /proc/self/maps cannot tell
// apart from the program's own mmap where the kernel lacks
// CONFIG_ANON_VMA_NAME. Migrating such a page cannot deadlock — the
// migrating thread runs no Go code while it owns pages, and every other
// thread that touches it waits for the migration or takes a CPU fault that
// the service thread (which needs no Go) resolves — it is only slow.
//
// Every memory command and launch checks its whole range against the
// mappings before it touches anything (Maps.CheckRange): NULL, a range
// that wraps or leaves the 47-bit user address space, unmapped addresses,
// PROT_NONE, [vvar] and device memory are ErrDeviceFault naming the first
// bad address; a write to a read-only mapping is ErrPermission.
//
// # Degraded mode
//
// When userfaultfd cannot be opened (no privilege, no /dev/userfaultfd,
// seccomp) or SVMRT_NO_UFFD=1 is set, Default still works: Degraded reports
// why, migrations fail with ErrNotSupported, and devices access host pages
// remotely. Nothing hangs and nothing migrates.
package svm
