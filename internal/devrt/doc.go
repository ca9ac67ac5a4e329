// Package devrt is the device runtime of compiled kernels: it builds a
// program's OpenCL C into a shared object (build.go: clang, the builtins
// library, trampolines, group loops, for the cpu device natively and for
// the simulated GPU with every memory access instrumented), loads it, and
// runs its work-items on SMs (sched.c, sm.c).
//
// # SMs and fibers
//
// An SM is a set of work-groups assigned together, the TLB their warps
// share (simulated GPU) and a stack arena. Work-items run on fibers: stacks
// of SVMK_STACK_SIZE bytes aligned to their size, whose top holds a header
// naming the running item, so kernel code finds its item from the stack
// pointer alone (ksrc/svmk.h). One goroutine at a time runs an SM; nothing
// in an SM is shared with another, except the launch's MMU view, which
// changes only between runs.
//
// The scheduler (dr_sm_run) takes items in index order, pass after pass,
// until none can progress; the order of execution — and with it the TLB's
// contents and every counter — depends only on the inputs. An item that
// runs to its end lets the fiber go straight on with the next new item, so
// a run of items that never block costs no context switch. A kernel that
// reaches no barrier runs such a run as one loop instead of one trampoline
// call per item (loop.go): on the cpu device a whole group in one group
// loop, on the simulated GPU consecutive items of one group in one item
// loop, which hands every item to the scheduler's bookkeeping between two
// calls of the kernel, so that items keep their states below.
//
// # Work-item states
//
//	NEW ──start──▶ RUN ──return──▶ DONE
//	                │ ├─barrier──▶ BARRIER ──last arrives──▶ READY ──▶ RUN
//	                │ ├─fault, has written──▶ FAULT ──Resume──▶ READY ──▶ RUN
//	                │ └─fault, only read────▶ RESTART ──Resume──▶ NEW
//	                └─trap (SIGSEGV, SIGBUS, SIGFPE), abort, group failed──▶ DEAD
//
// An item loop changes none of this: each item of its run is started (NEW
// to RUN) and ended (RUN to DONE) by the loop's step, in the order and with
// the counter snapshots the scheduler would use, and the fault paths see
// the item as they would see it alone, only its ids being in the run's
// first item (the fiber's) rather than its own until it faults. An item
// that parks mid-loop keeps the run's fiber (the items after it start on
// fresh fibers, as they would anyway); one that gives its run up leaves
// the loop by the long jump, and the loop goes on with the next item, from
// the ids of the one that gave up (in a copy, the next item's own, if the
// run's item was that one's): the order a new run would take, without one.
//
// FAULT and RESTART are the items waiting for a fault to be serviced
// (SM.Faults lists their faults, one per group, warp and page; SM.Resume
// ends the wait, or aborts them and fails their groups). A RESTART item
// has done nothing another run would not redo — it has not stored,
// made an atomic, copied or passed a barrier since it started, and has not
// parked — so it gives its run up instead of keeping a fiber: its counts
// are undone (the SM's counters go back to their values at its start) and
// it starts from scratch when resumed, as if it had started later, which
// the OpenCL memory model allows. An item restarts at most DR_MAX_RESTARTS
// times and then parks, so an item whose pages keep being evicted while it
// waits for the next one still makes progress. Restarting is what keeps a
// simulated GPU's fault rounds cheap: most items fault on their loads, and
// a parked item would hold a cold stack each.
//
// A warp stalls as one (SM.SetWarp; warp_stall in sched.c): when two
// consecutive lanes of a warp give their runs up at the same access on the
// same page, and their addresses continued linearly to the warp's last lane
// stay in that page, the lanes after them go from NEW to RESTART without
// running, each waiting on its predicted address in that page — a GPU's
// warp issues an access for all its lanes at once and replays it after the
// fault is serviced, so its lanes never run ahead to the fault one by one.
// The warp's fault entry for the page covers them; a lane whose access
// would have gone elsewhere finds its own fault a round later.
//
// # Faults in work-items
//
// A hardware fault in kernel code (a wild pointer natively, a division by
// zero) is caught by the handler in trap.c, which sits in front of Go's and
// long-jumps back into the scheduler: the item's group fails, the process
// survives.
//
// # The runtime's own memory
//
// Every page of private anonymous memory can migrate to a simulated device,
// the Go heap's and C malloc's included, and a CPU write to a migrated page
// brings it home. So what the runtime writes while a kernel runs — SM
// state, the launch's arguments, the fault lists of every round — is in
// mappings that hold nothing else (dr_alloc in rtmem.c; OffHeap for Go
// callers), never beside a kernel's data, where each write would pull the
// kernel's page back and the device would fault on it again. Those pages,
// and the fiber stacks, come from one reservation of address space made on
// first use: a fresh mapping placed by the kernel would often fill the hole
// a program just unmapped, and a kernel launched on the stale pointer would
// write into the runtime's state instead of faulting.
//
// # Static __local variables
//
// A __local variable declared in a kernel's body is one module global to
// clang; the build moves every one into a per-group block laid out after
// the group's __local arguments (staticlocal.go), so each work-group has
// its own, as OpenCL requires.
package devrt
