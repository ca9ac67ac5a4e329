//go:build amd64

package sgemm

import "github.com/klauspost/cpuid/v2"

//go:generate go run ./asmgen -out kern_amd64.s

//go:noescape
func kernAVX512(k int, a, b, c *float32, ldc int, add int)

//go:noescape
func kernAVX2(k int, a, b, c *float32, ldc int, add int)

//go:noescape
func kernSSE2(k int, a, b, c *float32, ldc int, add int)

// platformKernels lists the assembly kernels this CPU (and OS) can run,
// best first. cpuid reports AVX-512F and AVX2 only when the OS saves the
// wider registers too.
func platformKernels() []*microKernel {
	var ks []*microKernel
	if cpuid.CPU.Supports(cpuid.AVX512F) {
		ks = append(ks, &microKernel{name: "avx512", mr: 14, nr: 32, fma: true, fn: kernAVX512})
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		ks = append(ks, &microKernel{name: "avx2+fma", mr: 6, nr: 16, fma: true, fn: kernAVX2})
	}
	// SSE2 is part of amd64.
	ks = append(ks, &microKernel{name: "sse2", mr: 6, nr: 8, fn: kernSSE2})
	return ks
}
