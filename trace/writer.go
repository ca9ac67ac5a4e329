package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The writer: events are encoded under one mutex into a buffered writer,
// in the order they are emitted.

const (
	header     = `{"displayTimeUnit":"ns","traceEvents":[`
	terminator = "\n]}\n"
	bufferSize = 64 << 10
)

// ErrClosed is returned by Flush and Close on a closed Writer.
var ErrClosed = errors.New("trace: writer closed")

// Writer streams Trace Event JSON to an io.Writer. It is safe for
// concurrent use; the zero value is not usable (New).
type Writer struct {
	start time.Time // host clock origin: the trace's host timestamps count from it

	mu sync.Mutex // protects everything below
	bw *bufio.Writer
	// seeker is the underlying writer when it is a seekable file: Flush
	// then ends the document (the output is valid JSON after every Flush)
	// and the next event seeks back over the terminator.
	seeker     io.Seeker
	terminated bool
	err        error // the first error of the underlying writer (sticky)
	closed     bool
	events     int64 // events written, metadata included
	started    bool  // the header has been written
	pids       map[string]int
	tids       map[int]map[string]int
	scratch    []byte
}

// New starts a trace on w. Nothing is written until the first event.
// Closing the Writer ends the document; it does not close w.
func New(w io.Writer) *Writer {
	t := &Writer{start: time.Now(), bw: bufio.NewWriterSize(w, bufferSize), pids: map[string]int{}, tids: map[int]map[string]int{}}
	if s, ok := w.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekCurrent); err == nil {
			t.seeker = s // a regular file, not a pipe or terminal
		}
	}
	return t
}

// Since is the host clock of the trace: the time since New.
func (t *Writer) Since() time.Duration { return time.Since(t.start) }

// Err is the first error of the underlying writer, or nil.
func (t *Writer) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Events counts the events written (metadata events included).
func (t *Writer) Events() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.events
}

// Flush writes what is buffered to the underlying writer and returns the
// first error the writer has returned so far. On a seekable file it also
// ends the document, so the file is a complete trace after every Flush;
// later events continue it.
func (t *Writer) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.seeker != nil {
		t.terminateLocked()
	}
	t.flushLocked()
	return t.err
}

// Close ends the document and flushes it, returning the first error of
// the underlying writer. A second Close is ErrClosed.
func (t *Writer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	t.closed = true
	t.terminateLocked()
	t.flushLocked()
	return t.err
}

// terminateLocked ends the document (writing the header first if no event
// has), unless it is ended already or the writer has failed.
func (t *Writer) terminateLocked() {
	if t.err != nil {
		return
	}
	t.beginLocked()
	if !t.terminated {
		t.bw.WriteString(terminator)
		t.terminated = true
	}
}

func (t *Writer) flushLocked() {
	if t.err == nil {
		if err := t.bw.Flush(); err != nil {
			t.err = fmt.Errorf("trace: write: %w", err)
		}
	}
}

// beginLocked writes the header before the first event, and after a
// Flush that ended the document seeks back over its terminator.
func (t *Writer) beginLocked() {
	if !t.started {
		t.started = true
		t.bw.WriteString(header)
		return
	}
	if t.terminated {
		t.flushLocked()
		if t.err != nil {
			return
		}
		if _, err := t.seeker.Seek(-int64(len(terminator)), io.SeekCurrent); err != nil {
			t.err = fmt.Errorf("trace: seek back over the document's end: %w", err)
			return
		}
		t.terminated = false
	}
}

// emitLocked writes one encoded event (an object without its braces'
// separator), preceded by the separator the array needs.
func (t *Writer) emitLocked(ev []byte) {
	if t.closed || t.err != nil {
		return
	}
	t.beginLocked()
	if t.err != nil {
		return
	}
	if t.events > 0 {
		t.bw.WriteByte(',')
	}
	t.bw.WriteByte('\n')
	if _, err := t.bw.Write(ev); err != nil && t.err == nil {
		t.err = fmt.Errorf("trace: write: %w", err)
	}
	t.events++
}

// Process is a process of the trace (a clock domain: see the package doc).
type Process struct {
	t   *Writer
	pid int
}

// Process returns the process named name, creating it (with its
// process_name metadata event) on first use. sort orders processes in
// the viewer (lower first).
func (t *Writer) Process(name string, sort int) Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.processLocked(name, sort)
}

// NewProcess is Process for a new process: when name is taken it is
// suffixed " (2)", " (3)", ... (two devices of the same name, each with
// tracks of its own).
func (t *Writer) NewProcess(name string, sort int) Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.processLocked(unique(name, t.pids), sort)
}

func (t *Writer) processLocked(name string, sort int) Process {
	if pid, ok := t.pids[name]; ok {
		return Process{t, pid}
	}
	pid := len(t.pids) + 1
	t.pids[name] = pid
	t.tids[pid] = map[string]int{}
	t.metaLocked(pid, 0, "process_name", name)
	t.metaSortLocked(pid, 0, "process_sort_index", sort)
	return Process{t, pid}
}

// NewThread is Thread for a new thread, suffixed as NewProcess does.
func (p Process) NewThread(name string, sort int) Track {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return p.threadLocked(unique(name, p.t.tids[p.pid]), sort)
}

// Thread returns the process's thread (a track) named name, creating it
// (with its thread_name metadata) on first use; sort orders its tracks.
func (p Process) Thread(name string, sort int) Track {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return p.threadLocked(name, sort)
}

func (p Process) threadLocked(name string, sort int) Track {
	t := p.t
	if tid, ok := t.tids[p.pid][name]; ok {
		return Track{t, p.pid, tid}
	}
	tid := len(t.tids[p.pid]) + 1
	t.tids[p.pid][name] = tid
	t.metaLocked(p.pid, tid, "thread_name", name)
	t.metaSortLocked(p.pid, tid, "thread_sort_index", sort)
	return Track{t, p.pid, tid}
}

// unique is name, or when taken holds it, name suffixed " (2)", " (3)", ...
// with the first suffix not taken.
func unique(name string, taken map[string]int) string {
	u := name
	for i := 2; ; i++ {
		if _, ok := taken[u]; !ok {
			return u
		}
		u = name + " (" + strconv.Itoa(i) + ")"
	}
}

func (t *Writer) metaLocked(pid, tid int, what, name string) {
	b := t.metaHead(pid, tid, what, "name")
	b = appendString(b, name)
	t.metaEmitLocked(b)
}

func (t *Writer) metaSortLocked(pid, tid int, what string, sort int) {
	b := t.metaHead(pid, tid, what, "sort_index")
	b = strconv.AppendInt(b, int64(sort), 10)
	t.metaEmitLocked(b)
}

// metaHead starts a metadata event in the scratch buffer, up to the value
// of its one arg key.
func (t *Writer) metaHead(pid, tid int, what, key string) []byte {
	b := t.scratch[:0]
	b = append(b, `{"ph":"M","pid":`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, `,"name":"`...)
	b = append(b, what...)
	b = append(b, `","args":{"`...)
	b = append(b, key...)
	return append(b, `":`...)
}

// metaEmitLocked ends the metadata event metaHead began and writes it.
func (t *Writer) metaEmitLocked(b []byte) {
	b = append(b, "}}"...)
	t.scratch = b
	t.emitLocked(b)
}

// Track is one thread of a process: where its events are drawn.
type Track struct {
	t        *Writer
	pid, tid int
}

// Span writes a complete event ("X"): name from ts for dur on the track's
// clock.
func (k Track) Span(name, cat string, ts, dur time.Duration, args ...Arg) {
	k.event('X', name, cat, ts, dur, args)
}

// Instant writes an instant event ("i", thread scope) at ts.
func (k Track) Instant(name, cat string, ts time.Duration, args ...Arg) {
	k.event('i', name, cat, ts, -1, args)
}

// Counter writes a counter event ("C"): each arg is one series of the
// counter track named name (Int args only are meaningful to a viewer).
func (k Track) Counter(name string, ts time.Duration, args ...Arg) {
	k.event('C', name, "", ts, -1, args)
}

func (k Track) event(ph byte, name, cat string, ts, dur time.Duration, args []Arg) {
	t := k.t
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.scratch[:0]
	b = append(b, `{"ph":"`...)
	b = append(b, ph)
	b = append(b, `","pid":`...)
	b = strconv.AppendInt(b, int64(k.pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(k.tid), 10)
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	if cat != "" {
		b = append(b, `,"cat":`...)
		b = appendString(b, cat)
	}
	b = append(b, `,"ts":`...)
	b = appendMicros(b, ts)
	if ph == 'X' {
		b = append(b, `,"dur":`...)
		b = appendMicros(b, max(dur, 0))
	}
	if ph == 'i' {
		b = append(b, `,"s":"t"`...)
	}
	if len(args) > 0 {
		b = append(b, `,"args":{`...)
		for i, a := range args {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a.Key)
			b = append(b, ':')
			switch a.kind {
			case argInt:
				b = strconv.AppendInt(b, a.i, 10)
			case argMicros:
				b = appendMicros(b, time.Duration(a.i))
			default:
				b = appendString(b, a.s)
			}
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	t.scratch = b
	t.emitLocked(b)
}

// Arg is one entry of an event's args.
type Arg struct {
	Key  string
	kind argKind
	i    int64
	s    string
}

type argKind uint8

const (
	argInt argKind = iota
	argString
	argMicros
)

// Int is an integer arg.
func Int(key string, v int64) Arg { return Arg{Key: key, kind: argInt, i: v} }

// String is a string arg.
func String(key, v string) Arg { return Arg{Key: key, kind: argString, s: v} }

// Micros is a duration arg written in microseconds (the unit of ts).
func Micros(key string, d time.Duration) Arg { return Arg{Key: key, kind: argMicros, i: int64(d)} }

// appendMicros writes d in microseconds with nanosecond precision
// ("12.345"): the Trace Event format's unit, without float rounding.
func appendMicros(b []byte, d time.Duration) []byte {
	ns := int64(d)
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1000, 10)
	if frac := ns % 1000; frac != 0 {
		b = append(b, '.')
		b = append(b, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return b
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
