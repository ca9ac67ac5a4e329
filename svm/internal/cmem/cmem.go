// Package cmem gives tests C heap memory (malloc) — one of the three kinds
// of private anonymous memory svm migrates (Go heap, mmap, C malloc).
package cmem

/*
#include <stdlib.h>
*/
import "C"

import "unsafe"

// Malloc returns n bytes from the C heap, aligned to align (a power of two).
func Malloc(n, align int) unsafe.Pointer {
	var p unsafe.Pointer
	if C.posix_memalign(&p, C.size_t(align), C.size_t(n)) != 0 {
		return nil
	}
	return p
}

// Free releases memory from Malloc.
func Free(p unsafe.Pointer) { C.free(p) }
