//go:build !openblas || !cgo

package openblas

// Available reports whether this build has the OpenBLAS peer: build with
// -tags openblas (and cgo, and libopenblas-dev installed) to get it.
const Available = false

func SetThreads(int)   {}
func CoreName() string { return "" }
func Config() string   { return "" }

// Mul panics: this build has no OpenBLAS.
func Mul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	panic("openblas: built without -tags openblas")
}
