package simgpu

import (
	"os"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
)

// Helpers shared by the package's tests. Scenarios that can hang the
// process run in a child process (the test binary re-executed with
// -test.run) with a deadline: inChild.

const childEnv = "SIMGPU_TEST_CHILD"

// inChild runs t in a child process with a deadline (childtest.InChild),
// after checking that migration is available.
func inChild(t *testing.T, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(childEnv) != t.Name() {
		needUFFD(t)
	}
	return childtest.InChild(t, childEnv, deadline)
}
