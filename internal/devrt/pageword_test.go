package devrt

import (
	"testing"

	"github.com/svmrt/svmrt/svm"
)

// The MMU's walk decodes the svm core's page-state words with its own
// constants (C cannot include the core's header from here): they must agree
// with the core's layout, or the walk reads the wrong device or frame.
func TestPageWordLayoutMatchesSVM(t *testing.T) {
	for _, c := range []struct {
		name     string
		dr, core int
	}{{"host", pageWordHost, svm.StateHost}, {"device", pageWordDevice, svm.StateDevice}, {"dup", pageWordDup, svm.StateDup}} {
		if c.dr != c.core {
			t.Errorf("state %s: devrt %d, svm %d", c.name, c.dr, c.core)
		}
	}
	for _, f := range []struct {
		st, dev int
		frame   uint64
	}{{svm.StateDevice, 0, 0}, {svm.StateDup, 63, 1}, {svm.StateDevice, 5, pageWordFrameMask}, {svm.StateHost, 1, 12345}} {
		w := f.frame<<pageWordFrameShift | uint64(f.dev)<<pageWordDevShift | uint64(f.st)
		if svm.WordState(w) != f.st || svm.WordDevice(w) != f.dev || svm.WordFrame(w) != f.frame {
			t.Errorf("word %#x packed by devrt's layout (state %d, device %d, frame %d) reads as state %d, device %d, frame %d in svm",
				w, f.st, f.dev, f.frame, svm.WordState(w), svm.WordDevice(w), svm.WordFrame(w))
		}
	}
	if pageWordDevMask != 63 || pageWordFrameMask != 1<<27-1 {
		t.Errorf("field masks: device %#x, frame %#x", pageWordDevMask, pageWordFrameMask)
	}
}
