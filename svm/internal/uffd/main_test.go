package uffd

import (
	"os"
	"testing"
)

// The fault-service thread's internal errors reach no test: the binary fails
// if it recorded any. (svmtest.Main does this elsewhere; svmtest imports this
// package, so its tests cannot import svmtest.)
func TestMain(m *testing.M) { os.Exit(CheckAfterTests(m.Run(), os.Stderr)) }
