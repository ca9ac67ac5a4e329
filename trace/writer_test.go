package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type doc struct {
	TraceEvents []map[string]any `json:"traceEvents"`
}

func parse(t *testing.T, b []byte) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("trace is not valid JSON: %v\n%s", err, b)
	}
	return d
}

func TestEventsEncodeAsTraceEventJSON(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	p := w.Process("dev \"x\"\n\xff", 1)
	k := p.Thread("batches", 2)
	k.Span("batch", "fault", 1500*time.Nanosecond, 2*time.Microsecond, Int("faults", 7), String("kind", "a\\b"), Micros("host_us", 1234567))
	k.Instant("throttle", "policy", 3*time.Microsecond, Int("pages", 2))
	k.Counter("resident pages", 4*time.Microsecond, Int("pages", 12))
	if p2 := w.Process("dev \"x\"\n\xff", 1); p2.pid != p.pid {
		t.Errorf("the same process name gave pid %d, then %d", p.pid, p2.pid)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := parse(t, buf.Bytes())
	if len(d.TraceEvents) != 7 { // 2 process + 2 thread metadata, 3 events
		t.Fatalf("%d events, want 7: %s", len(d.TraceEvents), buf.Bytes())
	}
	if got := d.TraceEvents[0]["args"].(map[string]any)["name"]; got != "dev \"x\"\n\ufffd" {
		t.Errorf("process name decoded as %q", got)
	}
	x := d.TraceEvents[4]
	if x["ph"] != "X" || x["ts"] != 1.5 || x["dur"] != 2.0 || x["name"] != "batch" || x["cat"] != "fault" {
		t.Errorf("span = %v", x)
	}
	args := x["args"].(map[string]any)
	if args["faults"] != 7.0 || args["kind"] != "a\\b" || args["host_us"] != 1234.567 {
		t.Errorf("span args = %v", args)
	}
	if i := d.TraceEvents[5]; i["ph"] != "i" || i["s"] != "t" || i["ts"] != 3.0 {
		t.Errorf("instant = %v", i)
	}
	if c := d.TraceEvents[6]; c["ph"] != "C" || c["args"].(map[string]any)["pages"] != 12.0 {
		t.Errorf("counter = %v", c)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestEmptyTraceIsValid(t *testing.T) {
	var buf bytes.Buffer
	if err := New(&buf).Close(); err != nil {
		t.Fatal(err)
	}
	if d := parse(t, buf.Bytes()); len(d.TraceEvents) != 0 {
		t.Errorf("empty trace has %d events", len(d.TraceEvents))
	}
}

// A seekable file is a complete document after every Flush, and later
// events continue it.
func TestFlushLeavesAFileValid(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "t.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f)
	k := w.Process("p", 0).Thread("t", 0)
	for round := 1; round <= 3; round++ {
		k.Span("s", "", time.Duration(round)*time.Microsecond, time.Microsecond)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got := len(parse(t, b).TraceEvents); got != 4+round {
			t.Errorf("after flush %d: %d events, want %d", round, got, 4+round)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	if got := len(parse(t, b).TraceEvents); got != 7 {
		t.Errorf("after close: %d events, want 7", got)
	}
}

type failingWriter struct{ after, n int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.after {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

// The first error of the underlying writer sticks, is returned by Flush
// and Close, and events after it are dropped without a panic.
func TestWriterErrorIsKept(t *testing.T) {
	w := New(&failingWriter{after: 100})
	k := w.Process("p", 0).Thread("t", 0)
	for i := range 10000 { // more than the buffer holds
		k.Span("span", "c", time.Duration(i), 1)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
	k.Instant("after", "", 0)
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Close = %v, want the writer's error", err)
	}
	if !errors.Is(w.Err(), errDiskFull) {
		t.Errorf("Err = %v", w.Err())
	}
}

func TestConcurrentEventsStayWhole(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	p := w.Process("p", 0)
	var wg sync.WaitGroup
	const goroutines, each = 8, 500
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := p.Thread(string(rune('a'+g)), g)
			for i := range each {
				k.Span("s", "", time.Duration(i), 1, Int("g", int64(g)))
				if i%100 == 0 {
					w.Flush()
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := parse(t, buf.Bytes())
	if want := 2 + 2*goroutines + goroutines*each; len(d.TraceEvents) != want {
		t.Errorf("%d events, want %d", len(d.TraceEvents), want)
	}
}

// Two devices of one name get processes and threads of their own.
func TestNewProcessAndThreadAreDistinct(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	p1, p2 := w.NewProcess("simgpu", 1), w.NewProcess("simgpu", 1)
	if p1.pid == p2.pid {
		t.Fatalf("NewProcess gave pid %d twice", p1.pid)
	}
	k1, k2 := p1.NewThread("queue", 0), p1.NewThread("queue", 0)
	if k1.tid == k2.tid {
		t.Fatalf("NewThread gave tid %d twice", k1.tid)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range parse(t, buf.Bytes()).TraceEvents {
		if e["ph"] == "M" && (e["name"] == "process_name" || e["name"] == "thread_name") {
			names[e["args"].(map[string]any)["name"].(string)] = true
		}
	}
	for _, n := range []string{"simgpu", "simgpu (2)", "queue", "queue (2)"} {
		if !names[n] {
			t.Errorf("no process or thread named %q: %v", n, names)
		}
	}
}
