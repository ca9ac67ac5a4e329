package svm

import (
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// The pages a migration zaps go to the service thread's sink, which holds
// up to 2048 of them between emptyings: more migrations than that in a row
// all succeed with their data, and once the migrations stop the sink is
// emptied within a moment (the zapped copies are not kept).
func TestZapSinkFillsEmptiesAndKeepsNothing(t *testing.T) {
	if !inChild(t, 60*time.Second) {
		return
	}
	const runs, per = 48, 64 // 3072 pages: the sink fills and is emptied on the way
	m := attach(t, runs*per)
	if !uffd.ZapByMove() {
		t.Skip("the kernel has no UFFDIO_MOVE: migrations zap with madvise, no sink")
	}
	mem := mmapRW(t, runs*per*PageSize)
	for i := 0; i < runs*per; i++ {
		mem[i*PageSize] = byte(i*7 + 1)
	}
	base := testmem.Addr(mem)
	for r := 0; r < runs; r++ {
		migrateRange(t, m, unsafe.Pointer(&mem[r*per*PageSize]), per*PageSize)
	}
	checkOnDevice(t, m, base, runs*per)
	deadline := time.Now().Add(5 * time.Second)
	for uffd.SinkPages() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the sink still holds %d pages 5 s after the last migration", uffd.SinkPages())
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < runs*per; i++ { // the CPU brings each page home, with its data
		if got, want := mem[i*PageSize], byte(i*7+1); got != want {
			t.Fatalf("page %d: %d after the round trip, want %d", i, got, want)
		}
	}
}
