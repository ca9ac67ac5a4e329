// Command svmrt-icd is svmrt's OpenCL platform as a shared library for an
// OpenCL ICD loader (package icd has the details). Build it with make icd,
// svmrt icd, or by hand:
//
//	go build -buildmode=c-shared -ldflags=-extldflags=-Wl,--version-script=$PWD/cmd/svmrt-icd/exports.map \
//		-o build/libsvmrt-icd.so ./cmd/svmrt-icd
//
// and select it with OCL_ICD_VENDORS=$PWD/build/libsvmrt-icd.so. Built as a
// program (go build ./...) it does nothing: main is empty, as
// -buildmode=c-shared requires.
//
// The version script (exports.map) leaves only clIcdGetPlatformIDsKHR and
// clGetExtensionFunctionAddress exported. It goes on the external linker's
// command line (-extldflags), not in #cgo LDFLAGS: the go command does not
// allow -Wl,--version-script there, and a normal build needs none.
//
// The library holds a Go runtime: it cannot be loaded into a Go program,
// nor beside another Go c-shared library.
package main

// #include "../../icd/icd.h"
import "C"

import _ "github.com/svmrt/svmrt/icd"

func main() {}
