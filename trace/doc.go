// Package trace writes svmrt's timeline as Chrome/Perfetto Trace Event
// JSON: the object form {"traceEvents":[...]}, which ui.perfetto.dev and
// chrome://tracing both load.
//
// # Layout of a trace
//
// A trace has two kinds of process (Trace Event "pid"), each on its own
// clock, because a simulated device's time is not the host's:
//
//   - "host (host clock)": timestamps are host time since the trace began.
//     One thread per open device ("queue simgpu", "queue cpu") holds every
//     command the runtime ran on it (launches and memory commands, "X"
//     spans from the moment the queue started it to its end), and a thread
//     per simulated device ("CPU faults on simgpu") holds the CPU faults
//     that brought its pages home, one span per observation window (see
//     below). A second device of the same name gets tracks of its own
//     ("queue simgpu (2)").
//   - one process per simulated device ("simgpu (simulated clock)"):
//     timestamps are the device's simulated clock, deterministic from run
//     to run. Threads: "commands" (launches, copies, fills, explicit
//     migrations, as the device ran them), "fault batches" (one span per
//     batch of up to 256 faults, with its raw and distinct page counts and
//     what was done with them), "migrations" (pages moved each way, one
//     span per batch or per command, not per page), "policy" (evictions,
//     read duplicates made and dropped, throttles and pins) and a counter
//     track of resident pages.
//
// Every event carries the other clock in its args where there is one:
// "host_us" on device events, "sim_us" on host events of simulated devices.
// Devices without a simulated clock (cpu, opencl) have only the host
// process.
//
// CPU faults are resolved by svm's C service thread, which never calls into
// Go; the device sees them as counters. They are reported when the device
// next looks (at the start of its next operation, at Close, and when the
// runtime flushes the trace): one span per window, with the number of
// faults and pages, so their sums equal the device's counters.
//
// # Memory and cost
//
// Events are encoded into a buffered writer as they happen and never kept:
// a trace of any length needs a fixed amount of memory. Events are
// coalesced per fault batch or per command, never per page, so a trace's
// size grows with the number of batches. When tracing is off, a device's
// tracer is nil and each event site costs one nil check.
//
// # Errors
//
// The first error of the underlying writer is kept (Err) and returned by
// Flush and Close; events after it are dropped, never retried. The
// programs whose timeline it is keep running: a full disk loses the trace,
// not the launch.
package trace
