package simgpu

import (
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Misaligned accesses, one rule (runtime's package doc): a plain load or
// store runs as the host runs it, a page boundary crossed included (each
// page faults in through the MMU); a misaligned atomic fails the launch
// with ErrDeviceFault naming the address. The same for Go bodies and
// compiled kernels. (Issue 11 found Go bodies faulting on a misaligned
// load that the cpu device ran.)

// misalignedSrc reads a 4- and an 8-byte value at p+off and p+off+8 and
// writes both to q+off, byte offsets chosen by the test.
const misalignedSrc = `
__kernel void mis(__global uchar *q, __global const uchar *p, int off) {
	uint a = *(__global const uint *)(p + off);
	ulong b = *(__global const ulong *)(p + off + 8);
	*(__global uint *)(q + off) = a;
	*(__global ulong *)(q + off + 8) = b;
}
__kernel void mis_atomic(__global uchar *p, int off) {
	atomic_add((volatile __global int *)(p + off), 1);
}
`

var misGo = &kernels.Kernel{
	Name: "mis",
	Params: []kernels.Param{{Name: "q", Kind: kernels.PtrU8, Written: true}, {Name: "p", Kind: kernels.PtrU8},
		{Name: "off", Kind: kernels.I32}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		q, p, off := a.Ptr(0), a.Ptr(1), uintptr(a.I32(2))
		x := it.LoadU32(p + off)
		y := it.LoadU64(p + off + 8)
		it.StoreU32(q+off, x)
		it.StoreU64(q+off+8, y)
	},
}

var misAtomicGo = &kernels.Kernel{
	Name:   "mis_atomic",
	Params: []kernels.Param{{Name: "p", Kind: kernels.PtrU8, Written: true}, {Name: "off", Kind: kernels.I32}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		it.AtomicAddU32(a.Ptr(0)+uintptr(a.I32(1)), 1)
	},
}

func misalignedKernels(t *testing.T) (plain, atomic []*kernels.Kernel) {
	t.Helper()
	plain, atomic = []*kernels.Kernel{misGo}, []*kernels.Kernel{misAtomicGo}
	p, err := kernels.Compile(misalignedSrc)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Logf("compiled kernels not tested: %v", err)
		return plain, atomic
	}
	if err != nil {
		t.Fatal(err)
	}
	return append(plain, p.Kernel("mis")), append(atomic, p.Kernel("mis_atomic"))
}

// pathOf names the path a kernel of misalignedKernels runs on.
func pathOf(k *kernels.Kernel) string {
	if k.Body != nil {
		return "Go body"
	}
	return "compiled"
}

func TestMisalignedLoadsAndStoresRunAsOnTheHost(t *testing.T) {
	needUFFD(t)
	plain, _ := misalignedKernels(t)
	for _, k := range plain {
		path := pathOf(k)
		// off 1: within a page; off 4093: the 4-byte access crosses into
		// the second page; off 4090: the 8-byte one does.
		for _, off := range []int{1, 4093, 4090} {
			d := newDev(t)
			p := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
			q := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
			for i := range p {
				p[i] = byte(i*7 + 3)
			}
			if err := run(t, d, k, kernels.Range1D(1, 1), q, p, int32(off)); err != nil {
				t.Fatalf("%s, off %d: %v", path, off, err)
			}
			if got, want := binary.LittleEndian.Uint32(q[off:]), binary.LittleEndian.Uint32(p[off:]); got != want {
				t.Errorf("%s, off %d: 4-byte value %#x, want %#x", path, off, got, want)
			}
			if got, want := binary.LittleEndian.Uint64(q[off+8:]), binary.LittleEndian.Uint64(p[off+8:]); got != want {
				t.Errorf("%s, off %d: 8-byte value %#x, want %#x", path, off, got, want)
			}
			for i, b := range q {
				if (i < off || i >= off+16) && b != 0 {
					t.Fatalf("%s, off %d: byte %d of q written (%#x)", path, off, i, b)
				}
			}
		}
	}
}

func TestMisalignedAtomicIsADeviceFault(t *testing.T) {
	needUFFD(t)
	_, atomic := misalignedKernels(t)
	for _, k := range atomic {
		path := pathOf(k)
		for _, off := range []int{1, 4094} { // within a page, across two
			d := newDev(t)
			p := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
			for i := range p {
				p[i] = byte(i)
			}
			err := run(t, d, k, kernels.Range1D(1, 1), p, int32(off))
			var fe *svm.FaultError
			if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != testmem.Addr(p)+uintptr(off) ||
				!strings.Contains(err.Error(), "misaligned 4-byte atomic") {
				t.Errorf("%s, off %d: %v; want ErrDeviceFault at %#x naming a misaligned 4-byte atomic", path, off, err, testmem.Addr(p)+uintptr(off))
			}
			for i, b := range p {
				if b != byte(i) {
					t.Fatalf("%s, off %d: byte %d changed to %#x", path, off, i, b)
				}
			}
			// Aligned, the same kernel adds 1.
			if err := run(t, d, k, kernels.Range1D(1, 1), p, int32(off&^3)); err != nil {
				t.Fatalf("%s, aligned: %v", path, err)
			}
			if got, want := binary.LittleEndian.Uint32(p[off&^3:]), uint32(byte(off&^3))|uint32(byte(off&^3+1))<<8|uint32(byte(off&^3+2))<<16|uint32(byte(off&^3+3))<<24+1; got != want {
				t.Errorf("%s, aligned atomic: %#x, want %#x", path, got, want)
			}
		}
	}
}
