package sgemm

import "unsafe"

// Tile of the portable kernel.
const genericMR, genericNR = 4, 4

// kernGeneric is the portable micro-kernel: the same contract as the
// assembly ones (see asmgen) for a 4×4 tile, in plain Go. Each product is
// rounded before its addition (explicit float32 conversion), so no compiler
// fuses them into FMAs on any architecture.
func kernGeneric(k int, a, b, c *float32, ldc int, add int) {
	ap := unsafe.Slice(a, k*genericMR)
	bp := unsafe.Slice(b, k*genericNR)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := range k {
		av := ap[p*genericMR : p*genericMR+4 : p*genericMR+4]
		bv := bp[p*genericNR : p*genericNR+4 : p*genericNR+4]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c02 += float32(a0 * b2)
		c03 += float32(a0 * b3)
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
		c12 += float32(a1 * b2)
		c13 += float32(a1 * b3)
		c20 += float32(a2 * b0)
		c21 += float32(a2 * b1)
		c22 += float32(a2 * b2)
		c23 += float32(a2 * b3)
		c30 += float32(a3 * b0)
		c31 += float32(a3 * b1)
		c32 += float32(a3 * b2)
		c33 += float32(a3 * b3)
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	rows := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range 4 {
		row := cs[i*ldc : i*ldc+4 : i*ldc+4]
		if add != 0 {
			for j := range 4 {
				row[j] += rows[i][j]
			}
		} else {
			copy(row, rows[i][:])
		}
	}
}
