// Package errdefs holds the sentinel errors that packages below svm need too
// (the kernel compiler, the device runtime), so they can wrap them without
// importing the HMM core. svm re-exports each one under the same name; match
// them with errors.Is through svm or runtime.
package errdefs

import "errors"

// ErrNotSupported: the operation needs a capability this process, machine or
// device does not have (userfaultfd, a toolchain, a kernel-language feature).
var ErrNotSupported = errors.New("not supported")

// ErrClosed: the device (or the object) was closed; commands on it, and a
// second Close, fail with an error wrapping it. Every backend re-exports it.
var ErrClosed = errors.New("device closed")
