// Package openblas is a benchmark peer: cblas_sgemm from the system's
// OpenBLAS (Debian's libopenblas-dev, installed by scripts/setup.sh for the
// benchmark only). The binding builds only with the build tag openblas (and
// cgo), so the normal build needs no OpenBLAS; without it Available is false.
package openblas
