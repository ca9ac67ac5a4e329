package svm

import (
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Where the kernel has UFFDIO_MOVE a migration takes a page's content at
// the moment the service thread moves it out of the address space: a CPU
// write between the claim and the move does not block and is in the page
// that moves; a discard (MADV_DONTNEED) in that window leaves an absent
// page, which arrives as zeros. The zap delay holds the migration in that
// window (ZAPPING, before its move).
func TestMigrationTakesThePageAtTheMove(t *testing.T) {
	for _, how := range []string{"write", "discard"} {
		t.Run(how, func(t *testing.T) {
			if !inChild(t, 30*time.Second) {
				return
			}
			const pages = 4
			m := attach(t, pages)
			if !uffd.ZapByMove() {
				t.Skip("the kernel has no UFFDIO_MOVE: migrations write-protect, copy and zap with madvise")
			}
			mem := mmapRW(t, pages*PageSize)
			for i := range mem {
				mem[i] = 1
			}
			base := testmem.Addr(mem)
			v := resolve(t, base)
			uffd.SetZapDelay(300*time.Millisecond, 0)
			defer uffd.SetZapDelay(0, 0)
			done := make(chan error, 1)
			go func() {
				r, err := m.Migrate(v, base, pages)
				if err == nil && r.Moved != pages {
					t.Errorf("migration: %+v, want %d moved", r, pages)
				}
				done <- err
			}()
			awaitZapping(t, base)
			want := byte(0)
			if how == "write" {
				start := time.Now()
				for i := 0; i < pages; i++ {
					mem[i*PageSize+7] = 9
				}
				if took := time.Since(start); took > 150*time.Millisecond {
					t.Errorf("the writes waited %v: a page before its move is not write-protected", took)
				}
				if WordState(uffd.Load(base)) != StateZapping {
					t.Fatal("the migration moved the pages before the writes: the window closed early")
				}
				want = 9
			} else if err := syscall.Madvise(mem, syscall.MADV_DONTNEED); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkOnDevice(t, m, base, pages)
			for i := 0; i < pages; i++ { // each comes home with what the move took
				if got := mem[i*PageSize+7]; got != want {
					t.Errorf("page %d byte 7: %d, want %d", i, got, want)
				}
				if how == "write" && mem[i*PageSize] != 1 {
					t.Errorf("page %d byte 0: %d, want 1", i, mem[i*PageSize])
				}
			}
		})
	}
}
