// Package svmtest is test support for the svm core: it breaks the core on
// purpose, so that a test suite can show it notices, and its Main fails a
// test binary whose fault-service thread recorded internal errors. Nothing
// outside tests should import it.
package svmtest

import (
	"sync"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Bug is a deliberately broken behaviour of the core.
type Bug uint64

const (
	// IgnoreUnmap: the fault-service thread does not drop device copies of
	// memory that is munmapped (a missing mmu notifier).
	IgnoreUnmap Bug = uffd.BugIgnoreUnmap
)

// broken is when the core was broken on purpose: the service thread's error
// count then, while any bug is on.
var broken struct {
	sync.Mutex
	on     bool
	errors uint64
}

// Set turns the given bugs on (0 turns all off). Process-wide.
//
// The internal errors the service thread records while a bug is on are
// the bug's doing (IgnoreUnmap leaves device pages of unmapped memory that
// no copy can bring home, and the service thread counts each one it gives
// up): Main does not hold them against the test binary. Errors recorded
// once the bugs are off again count as ever.
func Set(bugs Bug) {
	broken.Lock()
	defer broken.Unlock()
	switch {
	case bugs != 0 && !broken.on:
		broken.on, broken.errors = true, uffd.Stats().Errors
	case bugs == 0 && broken.on:
		uffd.Sync() // the errors of events handled under the bug are counted by now
		uffd.ExpectErrors(uffd.Stats().Errors - broken.errors)
		broken.on = false
	}
	uffd.SetBugs(uint64(bugs))
}
