package clc

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrBuild: the OpenCL C source does not compile (OpenCL's
// CL_BUILD_PROGRAM_FAILURE). The error is a *BuildError with the log.
var ErrBuild = errors.New("clc: build failed")

// ErrInvalidBuildOptions: the clBuildProgram options string has an option clc
// does not accept (OpenCL's CL_INVALID_BUILD_OPTIONS). The error is a
// *BuildError whose Diags name the option.
var ErrInvalidBuildOptions = errors.New("clc: invalid build options")

// Diag is one diagnostic clang printed.
type Diag struct {
	File         string // as given to Compile (Options.Name) or an included header's path; "" for driver errors
	Line, Column int    // 1-based; 0 when clang gave none
	Severity     string // "error", "warning", "note", "fatal error"
	Message      string
}

func (d Diag) String() string {
	switch {
	case d.File == "":
		return d.Severity + ": " + d.Message
	case d.Line == 0:
		return fmt.Sprintf("%s: %s: %s", d.File, d.Severity, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, d.Severity, d.Message)
}

// BuildError is a failed build: the full compiler log plus its parsed
// diagnostics. It is ErrBuild, or ErrInvalidBuildOptions for a bad options
// string.
type BuildError struct {
	Log   string
	Diags []Diag
	kind  error // ErrBuild or ErrInvalidBuildOptions
}

func (e *BuildError) Unwrap() error {
	if e.kind == nil {
		return ErrBuild
	}
	return e.kind
}

// FirstError is the first diagnostic of severity error (or fatal error).
func (e *BuildError) FirstError() (Diag, bool) {
	for _, d := range e.Diags {
		if strings.HasSuffix(d.Severity, "error") {
			return d, true
		}
	}
	return Diag{}, false
}

// Error leads with the first error in file:line:col form (what a user needs),
// then says how many more errors there were and shows a few log lines.
func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString(e.Unwrap().Error())
	b.WriteString(": ")
	first, ok := e.FirstError()
	if ok {
		b.WriteString(first.String())
	} else if line, _, _ := strings.Cut(strings.TrimSpace(e.Log), "\n"); line != "" {
		b.WriteString(line)
	} else {
		b.WriteString("no diagnostics")
	}
	more := 0
	for _, d := range e.Diags {
		if strings.HasSuffix(d.Severity, "error") {
			more++
		}
	}
	if more > 1 {
		fmt.Fprintf(&b, " (and %d more error(s))", more-1)
	}
	// A short tail: the first few log lines after the lead diagnostic give
	// the source excerpt and caret without flooding the message.
	lines := strings.Split(strings.TrimRight(e.Log, "\n"), "\n")
	if ok && len(lines) > 1 {
		tail := lines[1:]
		if len(tail) > 4 {
			tail = tail[:4]
		}
		b.WriteString("\n")
		b.WriteString(strings.Join(tail, "\n"))
	}
	return b.String()
}

var diagRE = regexp.MustCompile(`^(.+?):(\d+):(\d+): (fatal error|error|warning|note|remark): (.*)$`)
var diagNoPosRE = regexp.MustCompile(`^(.*?): (fatal error|error|warning|note): (.*)$`)

// ParseDiagnostics parses clang's stderr into diagnostics. Lines that are not
// diagnostics (source excerpts, carets, "N errors generated.") are skipped.
func ParseDiagnostics(log string) []Diag {
	var out []Diag
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := diagRE.FindStringSubmatch(line); m != nil {
			ln, _ := strconv.Atoi(m[2])
			col, _ := strconv.Atoi(m[3])
			out = append(out, Diag{File: m[1], Line: ln, Column: col, Severity: m[4], Message: m[5]})
			continue
		}
		if m := diagNoPosRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, " ") {
			file := m[1]
			if file == "clang" || strings.HasPrefix(file, "clang-") || strings.HasSuffix(file, "/clang-15") {
				file = "" // a driver error, not a source position
			}
			out = append(out, Diag{File: file, Severity: m[2], Message: m[3]})
		}
	}
	return out
}

func newBuildError(log string) *BuildError {
	return &BuildError{Log: log, Diags: ParseDiagnostics(log), kind: ErrBuild}
}

func invalidOption(opt, why string) *BuildError {
	msg := fmt.Sprintf("invalid build option %q: %s", opt, why)
	return &BuildError{
		Log:   "error: " + msg + "\n",
		Diags: []Diag{{Severity: "error", Message: msg}},
		kind:  ErrInvalidBuildOptions,
	}
}

// ToolError is a failed run of one LLVM tool, with its stderr.
type ToolError struct {
	Tool   string // base name, e.g. "llvm-link-15"
	Args   []string
	Stderr string
	Err    error // the exec error (exit status, context cancellation)
}

func (e *ToolError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 2000 {
		msg = msg[:2000] + "\n..."
	}
	if msg == "" {
		msg = "(no output)"
	}
	return fmt.Sprintf("clc: %s failed: %v: %s", e.Tool, e.Err, msg)
}

func (e *ToolError) Unwrap() error { return e.Err }
