package svm

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// ExpectMigrations keeps the fault-service thread polling until its done
// is called (once, however often it is called), and migrations and CPU
// faults behave meanwhile as always.
func TestExpectMigrations(t *testing.T) {
	m := attach(t, 16)
	base := uffd.ExpectingWork()
	done := ExpectMigrations()
	if got := uffd.ExpectingWork(); got != base+1 {
		t.Fatalf("%d callers keep the service thread polling, want %d", got, base+1)
	}
	const pages = 4
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	fillWords(b, 77)
	migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	checkWords(t, b, 77) // CPU faults bring the pages home while it polls
	done()
	done()
	if got := uffd.ExpectingWork(); got != base {
		t.Fatalf("%d callers keep the service thread polling after done (twice), want %d", got, base)
	}
	migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	checkWords(t, b, 77) // and after it sleeps again
}
