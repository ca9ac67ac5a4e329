package conformance

import (
	"errors"
	"sync"
	"syscall"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

const pageSize = svm.PageSize

// Kernels of the suite (in addition to the library).

// addU32: buf[i] += v for i < n.
var addU32 = &kernels.Kernel{
	Name:   "conf_add_u32",
	Params: []kernels.Param{{Name: "buf", Kind: kernels.PtrU32, Written: true}, {Name: "v", Kind: kernels.U32}, {Name: "n", Kind: kernels.I32}},
	Source: `__kernel void conf_add_u32(__global uint *buf, uint v, int n) {
	int i = get_global_id(0);
	if (i < n) buf[i] += v;
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if i < int(a.I32(2)) {
			p := a.Ptr(0) + uintptr(i)*4
			it.StoreU32(p, it.LoadU32(p)+a.U32(1))
		}
	},
}

// copyU32: dst[i] = src[i] for i < n.
var copyU32 = &kernels.Kernel{
	Name:   "conf_copy_u32",
	Params: []kernels.Param{{Name: "dst", Kind: kernels.PtrU32, Written: true}, {Name: "src", Kind: kernels.PtrU32}, {Name: "n", Kind: kernels.I32}},
	Source: `__kernel void conf_copy_u32(__global uint *dst, __global const uint *src, int n) {
	int i = get_global_id(0);
	if (i < n) dst[i] = src[i];
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if i < int(a.I32(2)) {
			it.StoreU32(a.Ptr(0)+uintptr(i)*4, it.LoadU32(a.Ptr(1)+uintptr(i)*4))
		}
	},
}

// storeEvenU8: buf[2i] = v for 2i < n: the device's bytes of interleaved pages.
var storeEvenU8 = &kernels.Kernel{
	Name:   "conf_store_even_u8",
	Params: []kernels.Param{{Name: "buf", Kind: kernels.PtrU8, Written: true}, {Name: "v", Kind: kernels.U32}, {Name: "n", Kind: kernels.I32}},
	Source: `__kernel void conf_store_even_u8(__global uchar *buf, uint v, int n) {
	int i = get_global_id(0);
	if (2 * i < n) buf[2 * i] = (uchar)v;
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if 2*i < int(a.I32(2)) {
			it.StoreU8(a.Ptr(0)+uintptr(2*i), uint8(a.U32(1)))
		}
	},
}

// loadU8At: out[0] = p[0] — a pointer argument at an arbitrary byte offset.
var loadU8At = &kernels.Kernel{
	Name:   "conf_load_u8",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "p", Kind: kernels.PtrAny}},
	Source: `__kernel void conf_load_u8(__global uint *out, __global const uchar *p) {
	if (get_global_id(0) == 0) out[0] = p[0];
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		if it.GlobalID(0) == 0 {
			it.StoreU32(a.Ptr(0), uint32(it.LoadU8(a.Ptr(1))))
		}
	},
}

// atomicInc: atomic_inc(&words[i % nwords]) for i < n.
var atomicInc = &kernels.Kernel{
	Name:   "conf_atomic_inc",
	Params: []kernels.Param{{Name: "words", Kind: kernels.PtrU32, Written: true}, {Name: "nwords", Kind: kernels.I32}, {Name: "n", Kind: kernels.I32}},
	Source: `__kernel void conf_atomic_inc(__global volatile uint *words, int nwords, int n) {
	int i = get_global_id(0);
	if (i < n) atomic_inc(&words[i % nwords]);
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if i < int(a.I32(2)) {
			it.AtomicAddU32(a.Ptr(0)+uintptr(i%int(a.I32(1)))*4, 1)
		}
	},
}

// handshake: work-item 0 raises flag[0], waits until the host raises
// flag[1], then writes flag[2] = 1. Proves a submitted kernel runs without
// the host waiting for it.
var handshake = &kernels.Kernel{
	Name:   "conf_handshake",
	Params: []kernels.Param{{Name: "flag", Kind: kernels.PtrU32, Written: true}},
	Source: `__kernel void conf_handshake(__global volatile atomic_uint *flag) {
	if (get_global_id(0) != 0) return;
	atomic_store_explicit(&flag[0], 1, memory_order_seq_cst, memory_scope_all_svm_devices);
	while (atomic_load_explicit(&flag[1], memory_order_seq_cst, memory_scope_all_svm_devices) == 0) {}
	atomic_store_explicit(&flag[2], 1, memory_order_seq_cst, memory_scope_all_svm_devices);
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		if it.GlobalID(0) != 0 {
			return
		}
		f := a.Ptr(0)
		atomicStoreU32(it, f, 1)
		for it.AtomicLoadU32(f+4) == 0 {
		}
		atomicStoreU32(it, f+8, 1)
	},
}

// atomicStoreU32 is atomic_store on a global uint (what the source does;
// Item has no store, so a compare-and-swap until it lands).
func atomicStoreU32(it *kernels.Item, addr uintptr, v uint32) {
	for !it.AtomicCASU32(addr, it.AtomicLoadU32(addr), v) {
	}
}

// Tests' mappings go to a region of their own, far below where mmap puts
// everything else, 1 MiB apart. A hole a test makes (munmap of a page it
// then expects a fault on) must stay a hole: among the process's mappings
// it was the first gap the Go runtime, PoCL's threads or malloc found for
// their next small mapping, and a launch on it then succeeded (seen in CI:
// hmm/munmap, "got <nil>, want device fault"). mmap places a mapping in
// the highest gap that fits, and the one above this region always does.
// The region (62 TiB) sits between the Go heap's arena hints (0x..c0 << 32
// every TiB), and mmapAway falls back to an ordinary mmap when the kernel
// refuses the address.
var (
	awayMu   sync.Mutex
	awayNext uintptr = 0x3e50_0000_0000
)

const mapFixedNoReplace = 0x100000 // MAP_FIXED_NOREPLACE (Linux 4.17)

func mmapAway(bytes, flags int) ([]byte, error) {
	awayMu.Lock()
	defer awayMu.Unlock()
	for tries := 0; tries < 64; tries++ {
		at := awayNext
		awayNext += uintptr(bytes) + 1<<20
		p, _, e := syscall.Syscall6(syscall.SYS_MMAP, at, uintptr(bytes), syscall.PROT_READ|syscall.PROT_WRITE,
			uintptr(flags|mapFixedNoReplace), ^uintptr(0), 0)
		if e == 0 && p == at {
			// Off-heap memory from mmap: the address converts to a
			// pointer (through memory, as vet cannot tell).
			return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), bytes), nil
		}
		if e == 0 { // an old kernel took the address as a hint only
			syscall.Syscall(syscall.SYS_MUNMAP, p, uintptr(bytes), 0)
			break
		}
		if e != syscall.EEXIST {
			break
		}
	}
	return syscall.Mmap(-1, 0, bytes, syscall.PROT_READ|syscall.PROT_WRITE, flags)
}

// mmapAnon maps n private anonymous pages, unmapped after the test.
func mmapAnon(c *C, pages int) []byte {
	return mmapFlags(c, pages, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

func mmapFlags(c *C, pages, flags int) []byte {
	mem, err := mmapAway(pages*pageSize, flags)
	c.Check(err, "mmap")
	base, n := uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem))
	c.Cleanup(func() {
		// Only what is still the test's: a part it unmapped (or moved away)
		// may hold somebody else's memory by now — the Go runtime maps its
		// own metadata into freed holes, and unmapping that crashes the GC.
		c.mu.Lock()
		gone := append([][2]uintptr(nil), c.gone...)
		c.mu.Unlock()
		for a := base; a < base+n; a += pageSize {
			mine := true
			for _, g := range gone {
				if a >= g[0] && a < g[1] {
					mine = false
				}
			}
			if mine {
				syscall.Syscall(syscall.SYS_MUNMAP, a, pageSize, 0)
			}
		}
	})
	return mem
}

// unmapped records that the test unmapped [start, start+n) itself (munmap,
// or mremap moving it away), so the cleanup of its mapping leaves it alone.
func (c *C) unmapped(start, n uintptr) {
	c.mu.Lock()
	c.gone = append(c.gone, [2]uintptr{start, start + n})
	c.mu.Unlock()
}

func u32s(b []byte) []uint32 { return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4) }

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// run launches k and waits.
func run(c *C, dev *svmrt.Device, k *kernels.Kernel, nd kernels.NDRange, args ...any) error {
	return dev.Run(c.Ctx, k, nd, args...)
}

// range1 is a 1-D range covering n work-items in groups of 64.
func range1(n int) kernels.NDRange { return kernels.Range1D((n+63)/64*64, 64) }

// states returns the snapshot states of b's pages as seen by dev.
func states(c *C, dev *svmrt.Device, b []byte) []svm.PageState {
	snap, err := dev.Snapshot(unsafe.Pointer(&b[0]), uintptr(len(b)))
	c.Check(err, "snapshot")
	out := make([]svm.PageState, len(snap))
	for i, p := range snap {
		out[i] = p.State
	}
	return out
}

// expectAll fails unless every page of b is in state want (for dev).
func expectAll(c *C, dev *svmrt.Device, b []byte, want svm.PageState, when string) {
	for i, s := range states(c, dev, b) {
		if s != want {
			c.Fatalf("%s: page %d is %v, want %v", when, i, s, want)
		}
	}
}

// expectExclusive fails unless every page of b is held exclusively by a
// device (want) or by none (!want), as Snapshot reports.
func expectExclusive(c *C, dev *svmrt.Device, b []byte, want bool, when string) {
	snap, err := dev.Snapshot(unsafe.Pointer(&b[0]), uintptr(len(b)))
	c.Check(err, "snapshot")
	for i, p := range snap {
		if p.Exclusive != want {
			c.Fatalf("%s: page %d (%v) exclusive %v, want %v", when, i, p.State, p.Exclusive, want)
		}
	}
}

// expectFault fails unless err is a *svm.FaultError matching target whose
// address lies in [lo, hi).
func expectFault(c *C, err error, target error, lo, hi uintptr, what string) {
	var fe *svm.FaultError
	if !errors.Is(err, target) || !errors.As(err, &fe) {
		c.Fatalf("%s: got %v, want %v", what, err, target)
	}
	if fe.Addr < lo || fe.Addr >= hi {
		c.Fatalf("%s: error names %#x, outside [%#x, %#x)", what, fe.Addr, lo, hi)
	}
}

// mprotect sets b's protection (syscall.Mprotect with raw prot bits).
func mprotect(b []byte, prot int) error { return syscall.Mprotect(b, prot) }

// migrateErr is Device.Migrate's error alone.
func migrateErr(dev *svmrt.Device, p unsafe.Pointer, n uintptr) error {
	_, err := dev.Migrate(p, n)
	return err
}

// counters reads all of dev's counters, a simulated device's own included.
func counters(dev *svmrt.Device) backends.Counters { return backends.CountersOf(dev.Backend()) }
