//go:build openblas && cgo

package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// Available reports whether this build has the OpenBLAS peer.
const Available = true

// SetThreads sets OpenBLAS's thread count.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// CoreName is the kernel family OpenBLAS chose for this CPU (e.g. "Haswell",
// "SkylakeX", "Zen"), as openblas_get_corename reports it.
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

// Config is OpenBLAS's build configuration string.
func Config() string { return C.GoString(C.openblas_get_config()) }

// Mul computes C = A×B for row-major float32 matrices (m×k · k×n).
func Mul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		0, (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}
