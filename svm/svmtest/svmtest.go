// Package svmtest breaks the svm core on purpose, so that a test suite can
// show it notices. Nothing outside tests should import it.
package svmtest

import "github.com/svmrt/svmrt/svm/internal/uffd"

// Bug is a deliberately broken behaviour of the core.
type Bug uint64

const (
	// IgnoreUnmap: the fault-service thread does not drop device copies of
	// memory that is munmapped (a missing mmu notifier).
	IgnoreUnmap Bug = uffd.BugIgnoreUnmap
)

// Set turns the given bugs on (0 turns all off). Process-wide.
func Set(bugs Bug) { uffd.SetBugs(uint64(bugs)) }
