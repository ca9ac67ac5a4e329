package sgemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestTune prints GFLOP/s (median of 5) for a blocking given by the
// environment, for tuning by hand:
//
//	SGEMM_TUNE=1 KC=384 NC=1344 go test -v -run TestTune ./internal/sgemm/
//
// KC or NC unset (or 0) keeps the default.
func TestTune(t *testing.T) {
	if os.Getenv("SGEMM_TUNE") == "" {
		t.Skip("set SGEMM_TUNE=1 (and KC, NC) to tune the blocking")
	}
	kc, _ := strconv.Atoi(os.Getenv("KC"))
	nc, _ := strconv.Atoi(os.Getenv("NC"))
	blockingOverride.kc, blockingOverride.nc = kc, nc
	defer func() { blockingOverride.kc, blockingOverride.nc = 0, 0 }()
	for _, m := range []int{1024, 2048} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y, z := randMat(r, m*m), randMat(r, m*m), make([]float32, m*m)
		for _, w := range []int{1, 2} {
			var g []float64
			for range 5 {
				st := time.Now()
				Mul(m, m, m, x, m, y, m, z, m, w)
				g = append(g, 2*float64(m*m*m)/time.Since(st).Seconds()/1e9)
			}
			slices.Sort(g)
			fmt.Printf("KC=%d NC=%d m=%d w=%d: %.1f GF/s (%v)\n", kc, nc, m, w, g[2], CurrentBlocking())
		}
	}
}
