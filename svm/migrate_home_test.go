package svm

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// A page held in transit by a thread that does not let go (here a
// migration the zap delay keeps between its copy and its zap) makes
// MigrateToHost give up with ETIMEDOUT after 10 s without progress instead
// of waiting for ever; once the holder finishes, the page comes home with
// its data.
func TestMigrateToHostGivesUpOnAPageHeldInTransit(t *testing.T) {
	if !rvInChild(t, 60*time.Second) {
		return
	}
	const pages = 4
	m := attach(t, pages)
	mem := rvMmap(t, pages*PageSize)
	for i := 0; i < pages; i++ {
		mem[i*PageSize] = byte(i + 41)
	}
	base := rvAddr(mem)
	v := resolve(t, base)
	uffd.SetZapDelay(13*time.Second, 0)
	defer uffd.SetZapDelay(0, 0)
	done := make(chan error, 1)
	go func() {
		_, err := m.Migrate(v, base, pages)
		done <- err
	}()
	awaitZapping(t, base)
	start := time.Now()
	_, err := Default().MigrateToHost(base, pages*PageSize)
	took := time.Since(start)
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("MigrateToHost of pages held in transit: %v after %v, want ETIMEDOUT", err, took)
	}
	if took < 9*time.Second || took > 12*time.Second {
		t.Errorf("MigrateToHost gave up after %v, want about 10 s (no progress for that long)", took)
	}
	if err := <-done; err != nil {
		t.Fatalf("the holding migration: %v", err)
	}
	for i := 0; i < pages; i++ {
		if got := mem[i*PageSize]; got != byte(i+41) {
			t.Fatalf("page %d: %d after the migration and its way home, want %d", i, got, i+41)
		}
	}
}
