// Package ksrc holds the kernel-side half of the svmk ABI as source: the
// header shared with the runtime (svmk.h, also included by internal/devrt's
// C code) and svmk_rt.c.in, which the device runtime compiles with clang into
// every kernel module.
package ksrc

import (
	_ "embed"
	"strings"
)

//go:embed svmk.h
var header string

//go:embed svmk_rt.c.in
var runtime string

// Runtime returns the kernel-side runtime as one self-contained C source
// (the header pasted in place of its #include).
func Runtime() string {
	return strings.Replace(runtime, `#include "svmk.h"`, header, 1)
}
