package irx

import (
	"errors"
	"fmt"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// ErrUnsupported is wrapped by every *UnsupportedError.
var ErrUnsupported = errors.New("irx: unsupported memory access")

// UnsupportedError reports an access to address space 1, 2 or 4 that the
// device runtime's ABI cannot express (an i8 atomic, fmax, a masked load, …).
// It matches both ErrUnsupported and errdefs.ErrNotSupported with errors.Is.
type UnsupportedError struct {
	Instr  string // the instruction, as written in the module
	Line   int    // source line from its !dbg location; 0 if unknown
	Func   string // enclosing function, without '@'
	Reason string
}

func (e *UnsupportedError) Error() string {
	where := "@" + e.Func
	if e.Line > 0 {
		where += fmt.Sprintf(" (source line %d)", e.Line)
	}
	return fmt.Sprintf("irx: %s in %s: %s", e.Reason, where, e.Instr)
}

func (e *UnsupportedError) Unwrap() []error {
	return []error{ErrUnsupported, errdefs.ErrNotSupported}
}

// ParseError reports IR the rewriter could not understand; Line is the
// 1-based line of the .ll text.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("irx: .ll line %d: %s", e.Line, e.Msg)
}
