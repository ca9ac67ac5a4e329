// Package simgpu is a simulated GPU that mirrors the process address space
// the way a Linux HMM driver does, with a deterministic clock.
//
// Every load and store a kernel makes goes through the device MMU (mmu.go):
// a per-work-item TLB caches translations together with the page-state word
// they came from (a changed word is a shootdown); a miss walks svm's
// logical page table; a page that is not resident on this device, or not
// mapped for the access, raises a replayable fault. The faulting work-item
// stalls; when every work-item of the wave is stalled, at a barrier or
// finished, the scheduler (launch.go) drains the fault buffer
// (faultbuf.go), splits it into batches of up to 256 raw faults,
// deduplicates and sorts each batch and services it (faultservice.go):
// pages of mappings that cannot migrate (shared, file-backed) are mapped
// remotely (the device reads the host page over the simulated link);
// private anonymous pages go where the device's memory Policy says
// (policy.go) — migrated into the VRAM arena (svm.DevMem.Migrate,
// migraterun.go) together with the prefetcher's picks (prefetch.go), mapped
// remotely, or read-duplicated. Then the stalled work-items replay their
// accesses. Compiled kernels (OpenCL C) run the same way on SMs with a C
// MMU (compiled.go, simt.go); copies and fills are device operations that
// fault synchronously (dma.go); Device.Prefetch and Device.Migrate move
// ranges explicitly (migrate.go).
//
// Memory policies (policy.go, residency.go): device memory is handed out in
// 2 MiB chunks, one per VA block; a full device evicts the chunk the policy
// picks (LRU, unused first) and writes its pages back, so launches larger
// than the device complete. The thrashing detector marks pages that keep
// coming back within a lapse; a policy may throttle them (map remotely for
// a launch) and pin them to the host. Advice set on address ranges (svm's
// advice: preferred location, accessed-by, read-mostly) steers placement;
// accessed-by and pinned pages are mapped without a fault. The default
// policy is "demand" (migrate what faults, evict when full — Linux HMM's
// behaviour); "uvm" adds NVIDIA UVM's prefetcher, thrashing mitigation and
// read duplication. CPU faults on the device's pages are charged to its
// clock at its next operation, so ping-pong costs both ways. Whatever the
// policy, a page the host takes back between every round's service and the
// items' retry (a CPU thread, or the Go runtime touching an object that
// shares the page) is mapped remotely after a few such rounds, so the
// launch finishes instead of failing (compiled.go, stuckRemoteRounds).
//
// Work-groups run in waves of as many as the SMs hold at once
// (CostModel.SMCount × CostModel.Resident: 2048 work-items or 32 groups per
// SM by default, fewer for groups that use much local memory). Faults are
// collected per round in a deterministic order and every charge comes from the cost model,
// so the same program and inputs give identical simulated time and counters
// on every run, whatever the host scheduling (for kernels without
// cross-work-group communication and without concurrent CPU access).
//
// Device-side atomics on device-resident pages run in device memory, in a
// short C section the fault-service thread waits out before it copies such
// a page home — the device has exclusive access to the page until a CPU
// touch revokes it (HMM's make_device_exclusive), and no update is lost.
// On pages mapped remotely they are system-scope atomics on the host page
// (as PCIe AtomicOps would be).
//
// A device given a trace (SetTrace, trace.go) writes its commands, fault
// batches, evictions and — from svm's counters, after every batch and
// operation — the pages moved each way, read duplicates, throttles, pins
// and CPU faults, on its simulated clock; without one each event site is
// one nil check.
//
// Deliberately broken behaviours (Bugs, WithBugs), for checking that the
// conformance suite catches bugs, exist only with the build tag
// svmrt_testhooks (bugs_hooks.go); without it they compile to nothing
// (bugs_off.go).
//
// Lock order: Device.launchMu (one launch at a time; protects the policy
// state, memState) → wave.mu → svm advice lock, Clock.mu →
// svm's locks.
package simgpu
