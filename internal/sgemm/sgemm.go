package sgemm

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// A microKernel computes one MR×NR tile of C from packed panels; see the
// contract in asmgen/main.go (the portable kernGeneric follows it too).
type microKernel struct {
	name   string
	mr, nr int
	fma    bool // fused multiply-add: one rounding per step instead of two
	fn     func(k int, a, b, c *float32, ldc int, add int)
}

var (
	available []*microKernel // this machine's kernels, best first
	active    atomic.Pointer[microKernel]
)

func init() {
	available = append(platformKernels(),
		&microKernel{name: "generic", mr: genericMR, nr: genericNR, fn: kernGeneric})
	active.Store(available[0])
	if env := os.Getenv("SVMRT_SGEMM"); env != "" {
		// An unknown or unsupported name leaves the best kernel in place.
		_ = SetKernel(env)
	}
}

// Kernel returns the name of the micro-kernel Mul uses: "avx512",
// "avx2+fma", "sse2" or "generic".
func Kernel() string { return active.Load().name }

// Kernels returns the names of the micro-kernels this machine can run, best
// first (the last is always "generic").
func Kernels() []string {
	names := make([]string, len(available))
	for i, k := range available {
		names[i] = k.name
	}
	return names
}

// SetKernel makes Mul use the named micro-kernel ("avx2" is accepted for
// "avx2+fma"); "" or "auto" selects the best one again. It fails, changing
// nothing, for a kernel this machine cannot run. It is meant for tests and
// benchmarks; the SVMRT_SGEMM environment variable does the same at start-up.
// Calls of Mul already running keep the kernel they started with.
func SetKernel(name string) error {
	if name == "avx2" {
		name = "avx2+fma"
	}
	if name == "" || name == "auto" {
		active.Store(available[0])
		return nil
	}
	for _, k := range available {
		if k.name == name {
			active.Store(k)
			return nil
		}
	}
	return fmt.Errorf("sgemm: kernel %q not available here (have %v)", name, Kernels())
}

// KernelFMA reports whether the active kernel fuses multiply and add.
func KernelFMA() bool { return active.Load().fma }

// Cache sizes used for the blocking when cpuid reports none.
const (
	defaultL1D = 32 << 10
	defaultL2  = 1 << 20
)

// Blocking is the cache blocking Mul uses with the active kernel.
type Blocking struct {
	MR, NR int // register tile
	KC, NC int // depth of a k-block; columns of a packed B block
}

// blockingOverride, when non-zero, replaces KC/NC (benchmarks tune with it).
var blockingOverride struct{ kc, nc int }

func blockingFor(k *microKernel) Blocking {
	l1, l2 := cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2
	if l1 <= 0 || l1 > 1<<20 {
		l1 = defaultL1D
	}
	if l2 <= 0 || l2 > 64<<20 {
		l2 = defaultL2
	}
	// The packed MR×KC micro-panel of A stays in L1 (2/3 of it; the rest is
	// for the B micro-panel streaming through and the C tile).
	kc := l1 * 2 / 3 / (4 * k.mr)
	kc = max(64, min(512, kc&^7))
	// The packed KC×NC block of B streams past it from L2 and L3: 2× L2
	// measured best on Zen 4 (KC=384, NC=1344: 3–10% over a block that fits
	// in L2, as A is packed once per block and the prefetchers keep up).
	nc := 2 * l2 / (4 * kc)
	nc = max(k.nr, min(4096, nc/k.nr*k.nr))
	if blockingOverride.kc > 0 {
		kc = blockingOverride.kc
	}
	if blockingOverride.nc > 0 {
		nc = (blockingOverride.nc + k.nr - 1) / k.nr * k.nr
	}
	return Blocking{MR: k.mr, NR: k.nr, KC: kc, NC: nc}
}

// CurrentBlocking returns the blocking Mul uses with the active kernel.
func CurrentBlocking() Blocking { return blockingFor(active.Load()) }

// testHookWorker, if set, is called by each goroutine working on a Mul, the
// calling one included, with its worker index, before it starts.
var testHookWorker func(worker int)

// Mul computes C = A×B for row-major float32 matrices: A is m×k with row
// stride lda, B is k×n with row stride ldb, C is m×n with row stride ldc.
// C's previous contents are not read. It runs on at most workers
// goroutines, the calling one included (workers ≤ 1: the caller alone);
// fewer when the product has fewer row panels than that. The result does
// not depend on workers.
//
// C must not overlap A or B. Mul panics if a slice is too short for its
// dimensions and stride.
func Mul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, workers int) {
	if m < 0 || n < 0 || k < 0 {
		panic("sgemm: negative dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if rows > 0 && cols > 0 && (ld < cols || len(s) < (rows-1)*ld+cols) {
			panic(fmt.Sprintf("sgemm: %s: %d×%d with stride %d does not fit in %d floats", name, rows, cols, ld, len(s)))
		}
	}
	check("A", a, m, k, lda)
	check("B", b, k, n, ldb)
	check("C", c, m, n, ldc)
	if k == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	kern := active.Load()
	bl := blockingFor(kern)
	g := &gemm{m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, kern: kern, bl: bl}
	g.panels = (m + kern.mr - 1) / kern.mr
	workers = max(1, min(workers, g.panels))
	g.workers = workers
	g.run()
}

type gemm struct {
	m, n, k  int
	a, b, c  []float32
	lda, ldb int
	ldc      int
	kern     *microKernel
	bl       Blocking
	panels   int // row panels of MR rows
	workers  int
	bbuf     [2][]float32   // packed B blocks, alternating between steps
	next     []atomic.Int64 // per step: next row panel to hand out
	bar      barrier
}

// A step is one (jc, pc) pair: a KC×NC block of B, packed once and shared.
func (g *gemm) steps() (nj, np int) {
	return (g.n + g.bl.NC - 1) / g.bl.NC, (g.k + g.bl.KC - 1) / g.bl.KC
}

func (g *gemm) run() {
	nj, np := g.steps()
	// Two B buffers, so packing step s+1 needs no barrier after step s: a
	// worker packing into a buffer has passed the barrier of step s, so every
	// worker has finished step s-1, the last user of that buffer.
	bsize := min(g.bl.NC, roundUp(g.n, g.kern.nr)) * min(g.bl.KC, g.k)
	nbuf := 1
	if nj*np > 1 {
		nbuf = 2
	}
	for i := range nbuf {
		g.bbuf[i] = alignedFloats(bsize)
	}
	g.next = make([]atomic.Int64, nj*np)
	g.bar.init(g.workers)
	if g.workers == 1 {
		g.work(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < g.workers; w++ {
		wg.Go(func() { g.work(w) })
	}
	g.work(0)
	wg.Wait()
}

// work is one worker's share of the product.
func (g *gemm) work(w int) {
	if testHookWorker != nil {
		testHookWorker(w)
	}
	mr, nr := g.kern.mr, g.kern.nr
	kc0, nc0 := g.bl.KC, g.bl.NC
	apan := alignedFloats(mr * min(kc0, g.k))
	edge := alignedFloats(mr * nr)
	nj, np := g.steps()
	// Row panels are handed out in chunks, a few per worker and step, so a
	// worker slowed down by the machine does not hold the others up.
	chunk := int64(max(1, g.panels/(4*g.workers)))
	if g.workers == 1 {
		chunk = int64(g.panels)
	}
	step := 0
	for jb := range nj {
		jc := jb * nc0
		nc := min(nc0, g.n-jc)
		nbp := (nc + nr - 1) / nr // B micro-panels in this block
		for pb := range np {
			pc := pb * kc0
			kc := min(kc0, g.k-pc)
			bp := g.bbuf[step%2]
			// Pack this worker's share of the B block.
			for q := w * nbp / g.workers; q < (w+1)*nbp/g.workers; q++ {
				g.packB(bp[q*kc*nr:(q+1)*kc*nr], pc, kc, jc+q*nr, min(nr, nc-q*nr))
			}
			g.bar.wait()
			add := 0
			if pb > 0 {
				add = 1
			}
			ctr := &g.next[step]
			for {
				p0 := ctr.Add(chunk) - chunk
				if p0 >= int64(g.panels) {
					break
				}
				for p := int(p0); p < min(int(p0+chunk), g.panels); p++ {
					i := p * mr
					rows := min(mr, g.m-i)
					g.packA(apan, i, rows, pc, kc)
					for q := range nbp {
						j := jc + q*nr
						cols := min(nr, g.n-j)
						bq := &bp[q*kc*nr]
						if rows == mr && cols == nr {
							g.kern.fn(kc, &apan[0], bq, &g.c[i*g.ldc+j], g.ldc, add)
							continue
						}
						// Edge tile: compute the full tile aside, keep the
						// valid part. Same arithmetic as a full tile.
						g.kern.fn(kc, &apan[0], bq, &edge[0], nr, 0)
						for r := range rows {
							dst := g.c[(i+r)*g.ldc+j : (i+r)*g.ldc+j+cols]
							src := edge[r*nr : r*nr+cols]
							if add != 0 {
								for x := range dst {
									dst[x] += src[x]
								}
							} else {
								copy(dst, src)
							}
						}
					}
				}
			}
			step++
		}
	}
}

// packA copies rows [i, i+rows) × columns [pc, pc+kc) of A into dst as one
// micro-panel: for each p, the MR values of column pc+p (zero below rows).
func (g *gemm) packA(dst []float32, i, rows, pc, kc int) {
	mr := g.kern.mr
	dst = dst[:kc*mr]
	for r := range rows {
		src := g.a[(i+r)*g.lda+pc : (i+r)*g.lda+pc+kc]
		for p, v := range src {
			dst[p*mr+r] = v
		}
	}
	for r := rows; r < mr; r++ {
		for p := range kc {
			dst[p*mr+r] = 0
		}
	}
}

// packB copies rows [pc, pc+kc) × columns [j, j+cols) of B into dst as one
// micro-panel: for each p, the NR values of row pc+p (zero right of cols).
func (g *gemm) packB(dst []float32, pc, kc, j, cols int) {
	nr := g.kern.nr
	for p := range kc {
		d := dst[p*nr : (p+1)*nr]
		copy(d, g.b[(pc+p)*g.ldb+j:(pc+p)*g.ldb+j+cols])
		clear(d[cols:])
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// alignedFloats returns n zeroed floats starting on a 64-byte boundary.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}

// barrier is a reusable barrier for n goroutines.
type barrier struct {
	mu         sync.Mutex
	cond       sync.Cond
	n, waiting int
	gen        uint64
}

func (b *barrier) init(n int) { b.n = n; b.cond.L = &b.mu }

func (b *barrier) wait() {
	if b.n <= 1 {
		return
	}
	b.mu.Lock()
	gen := b.gen
	b.waiting++
	if b.waiting == b.n {
		b.waiting = 0
		b.gen++
		b.cond.Broadcast()
	} else {
		for gen == b.gen {
			b.cond.Wait()
		}
	}
	b.mu.Unlock()
}
