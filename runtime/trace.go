package runtime

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/trace"
)

// Tracing (package trace): the runtime writes every command it runs on a
// device as a span on the host clock, on the device's thread of the host
// process; a device that traces itself (trace.Source: the simulated GPU)
// is handed the trace at Open and adds its own events on its clock.
//
// A trace comes from WithTrace or WithSharedTrace, or from the environment: SVMRT_TRACE=FILE
// makes every device the process opens without either write into one
// trace in FILE (created, or truncated, at the first Open). That trace is
// flushed whenever a device's queue runs empty and at every Close, and
// the file is a complete Trace Event document after each flush — so a
// process that never closes its devices (a program using svmrt's OpenCL
// platform library, which opens the simulated GPU through Open and keeps
// it) still leaves a trace that loads. What happens after the last flush
// (CPU faults after the last command) is not in it.

// TraceEnv is the environment variable naming a file to trace every
// device into (see WithTrace).
const TraceEnv = "SVMRT_TRACE"

// noTrace is WithTrace(nil): no trace, whatever the environment says.
type noTrace struct{}

func (noTrace) Write(p []byte) (int, error) { return len(p), nil }

// deviceTrace is one device's part of a trace.
type deviceTrace struct {
	w     *trace.Writer
	queue trace.Track // the device's commands, on the host clock
	sim   backends.Simulator
	src   trace.Source
	owned bool // the device made w and closes it
	env   bool // w is the SVMRT_TRACE trace: flushed when the queue is idle
}

// envTrace is the process's SVMRT_TRACE trace, opened at the first Open
// that uses it.
var envTrace struct {
	once sync.Once
	w    *trace.Writer
	file string
	err  error

	mu       sync.Mutex // protects reported
	reported bool       // its write error was printed
}

func openEnvTrace() (*trace.Writer, error) {
	envTrace.once.Do(func() {
		name := os.Getenv(TraceEnv)
		if name == "" {
			return
		}
		f, err := os.Create(name)
		if err != nil {
			envTrace.err = fmt.Errorf("%s=%s: %w", TraceEnv, name, err)
			return
		}
		// The file stays open for the process's life: devices may be
		// opened and closed any number of times, each adding to it.
		envTrace.w, envTrace.file = trace.New(f), name
	})
	return envTrace.w, envTrace.err
}

// startTrace sets up d's trace from WithTrace's writer w, or from the
// environment when w is nil.
func (d *Device) startTrace(w io.Writer, shared *trace.Writer) error {
	t := &deviceTrace{}
	switch w := w.(type) {
	case noTrace:
		return nil
	case nil:
		if shared != nil {
			t.w = shared
			break
		}
		ew, err := openEnvTrace()
		if err != nil {
			return err
		}
		if ew == nil {
			return nil
		}
		t.w, t.env = ew, true
	default:
		t.w, t.owned = trace.New(w), true
	}
	t.queue = t.w.Process("host (host clock)", 0).NewThread("queue "+d.Name(), 0) // its own track, even beside a device of the same name
	t.sim, _ = d.be.(backends.Simulator)
	if src, ok := d.be.(trace.Source); ok {
		t.src = src
		src.SetTrace(t.w)
	}
	d.tr = t
	if t.env {
		t.flush() // the file is a trace from the first Open on, even if no command ever runs
	}
	return nil
}

// commandSpan is when a command began, on both clocks.
type commandSpan struct {
	host time.Duration
	sim  time.Duration
}

func (t *deviceTrace) begin() commandSpan {
	s := commandSpan{host: t.w.Since()}
	if t.sim != nil {
		s.sim = t.sim.SimStats().SimulatedTime
	}
	return s
}

// end writes the command what that began at s and ended with err; idle
// says the device's queue is empty now.
func (t *deviceTrace) end(s commandSpan, what string, err error, idle bool) {
	end := t.w.Since()
	args := make([]trace.Arg, 0, 3)
	if t.sim != nil {
		args = append(args, trace.Micros("sim_us", s.sim), trace.Micros("sim_dur_us", t.sim.SimStats().SimulatedTime-s.sim))
	}
	if err != nil {
		args = append(args, trace.String("error", err.Error()))
	}
	t.queue.Span(what, "command", s.host, end-s.host, args...)
	if t.env && idle {
		t.flush()
	}
}

// flush writes out the SVMRT_TRACE trace, with what the device has not
// reported yet. A write error is printed once: the program did not ask
// for the trace through the API, so the API does not fail for it.
func (t *deviceTrace) flush() {
	if t.src != nil {
		t.src.SyncTrace()
	}
	if err := t.w.Flush(); err != nil {
		envTrace.mu.Lock()
		defer envTrace.mu.Unlock()
		if !envTrace.reported {
			envTrace.reported = true
			fmt.Fprintf(os.Stderr, "svmrt: %s=%s: the trace is incomplete: %v\n", TraceEnv, envTrace.file, err)
		}
	}
}

// close ends the device's part of the trace after the device closed (its
// last events are written): an owned trace is closed and its error
// returned; the SVMRT_TRACE trace is flushed; a shared *trace.Writer is
// left to its owner.
func (t *deviceTrace) close() error {
	switch {
	case t.owned:
		if err := t.w.Close(); err != nil {
			return fmt.Errorf("trace: %w", err)
		}
	case t.env:
		t.flush()
	}
	return nil
}
