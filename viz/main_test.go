package viz

import (
	"testing"

	"github.com/svmrt/svmrt/svm/svmtest"
)

// The fault-service thread's internal errors reach no test: the binary
// fails if it recorded any.
func TestMain(m *testing.M) { svmtest.Main(m) }
