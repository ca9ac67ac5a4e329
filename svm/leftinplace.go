package svm

import (
	"fmt"
	"strings"
)

// LeftInPlaceError reports the pages of an explicit migration that stayed
// in host memory, as Linux's migrate_vma leaves pages it cannot migrate:
// pages of mappings that are mirrored, not migrated (shared, file-backed,
// the process's own machinery) stay where they
// are and devices map them on access, while the rest of the range
// migrates. It is not a failure of the rest of the range: the migration's
// count says how many pages moved. It wraps ErrNotSupported.
type LeftInPlaceError struct {
	Device   string
	Pages    int   // pages left in host memory
	Mappings []VMA // the mappings they are in, clipped to the range, in address order
}

func (e *LeftInPlaceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "svm: %s: %d page(s) left in host memory: ", e.Device, e.Pages)
	for i, v := range e.Mappings {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more mapping(s)", len(e.Mappings)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s mapping %v is mirrored, not migrated", v.Kind, v)
	}
	return b.String()
}

func (e *LeftInPlaceError) Unwrap() error { return ErrNotSupported }
