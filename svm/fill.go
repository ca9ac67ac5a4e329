package svm

import (
	"fmt"
	"math/bits"
)

// CheckFill validates a fill as clEnqueueSVMMemFill does, for every
// backend: the pattern is 1, 2, 4, ..., 128 bytes, n a multiple of it and
// dst aligned to it. Errors wrap ErrInvalidValue (CL_INVALID_VALUE).
func CheckFill(dst uintptr, pattern []byte, n uintptr) error {
	p := uintptr(len(pattern))
	switch {
	case p == 0 || p > 128 || bits.OnesCount(uint(p)) != 1:
		return fmt.Errorf("fill pattern of %d bytes: must be a power of two from 1 to 128: %w", p, ErrInvalidValue)
	case n%p != 0:
		return fmt.Errorf("fill of %d bytes: not a multiple of the %d-byte pattern: %w", n, p, ErrInvalidValue)
	case dst%p != 0:
		return fmt.Errorf("fill at %#x: not aligned to the %d-byte pattern: %w", dst, p, ErrInvalidValue)
	}
	return nil
}
