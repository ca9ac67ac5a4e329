//go:build !amd64

package sgemm

// platformKernels: no assembly kernels outside amd64; the generic Go kernel
// serves.
func platformKernels() []*microKernel { return nil }
