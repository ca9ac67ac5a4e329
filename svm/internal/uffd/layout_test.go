package uffd

import "testing"

// The word layout, states and results come from svmcore.h through cgo. The
// values are pinned here because other code keeps copies that cgo cannot
// check: internal/devrt's compiled-kernel MMU decodes words with the bare
// numbers, and words in flight must mean the same thing to both. A change to
// the header fails here first; update every copy with it.
func TestSharedConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"PageShift", PageShift, 12},
		{"PageSize", PageSize, 4096},
		{"MaxDevices", MaxDevices, 64},
		{"MaxRun", MaxRun, 64},
		{"StateHost", StateHost, 0},
		{"StateDevice", StateDevice, 1},
		{"StateMigrating", StateMigrating, 2},
		{"StateZapping", StateZapping, 3},
		{"StateReturning", StateReturning, 4},
		{"StateFilling", StateFilling, 5},
		{"StateDup", StateDup, 6},
		{"stMask", stMask, 7},
		{"devShift", devShift, 3},
		{"devMask", devMask, 63},
		{"frameShift", frameShift, 9},
		{"frameBits", frameBits, 27},
		{"frameMask", frameMask, 1<<27 - 1},
		{"seqShift", seqShift, 36},
		{"Migrated", Migrated, 0},
		{"Skipped", Skipped, 1},
		{"Aborted", Aborted, 2},
		{"Busy", Busy, 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// A word built from the layout's fields decodes back into them, with every
// field at its widest, so no two fields overlap.
func TestWordDecoders(t *testing.T) {
	const dev, frame, seq = MaxDevices - 1, 1<<frameBits - 1, 1<<(64-seqShift) - 1
	w := uint64(StateDup) | dev<<devShift | frame<<frameShift | seq<<seqShift
	if State(w) != StateDup || Dev(w) != dev || Frame(w) != frame || Seq(w) != seq {
		t.Fatalf("word %#x decodes to state %d dev %d frame %#x seq %#x", w, State(w), Dev(w), Frame(w), Seq(w))
	}
	if MaxFrames() != frame+1 {
		t.Fatalf("MaxFrames %d, want %d", MaxFrames(), frame+1)
	}
}

// svm_next_nonhost's "no page" answer (SVM_NO_PAGE) is what the Go side
// compares with: past the user address space nothing is tracked.
func TestNextNonHostNone(t *testing.T) {
	if a, ok := NextNonHost(1 << 47); ok {
		t.Fatalf("NextNonHost past the user address space found %#x", a)
	}
}
