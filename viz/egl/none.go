//go:build !viz || !cgo

package egl

import (
	"errors"
	"unsafe"
)

// Available reports whether this build has the EGL binding: build with
// -tags viz (and cgo, with libegl-dev installed) to get it.
const Available = false

// ErrNotBuilt is Open's error in a build without the binding.
var ErrNotBuilt = errors.New("egl: built without -tags viz (the EGL binding needs cgo and libegl-dev)")

// Context is an EGL display and context; this build cannot make one.
type Context struct{}

// Open fails: this build has no EGL.
func Open(major, minor int) (*Context, error) { return nil, ErrNotBuilt }

// ProcAddress returns nil: this build has no EGL.
func ProcAddress(name string) unsafe.Pointer { return nil }

// Close does nothing.
func (c *Context) Close() {}

// Vendor is empty.
func (c *Context) Vendor() string { return "" }
