package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/kernels/kerneltest"
)

// The suite's kernels are written twice, OpenCL C and a Go body; the
// conformance tests run whichever a device picks (cpu and simgpu the
// compiled source, and the Go body with WithGoBodies). These cases run both
// on the inputs the conformance tests give them, on cpu, simgpu and opencl,
// and require bit-identical results.

// notChecked are the suite's kernels kerneltest does not run, and why
// (none: conf_handshake, which spins until the host raises flag[1], is
// checked with flag[1] raised before the launch).
var notChecked = map[*kernels.Kernel]string{}

// suiteKernels are every kernel the suite declares (TestKernelsCheckCoversSuite
// checks the list against the sources).
var suiteKernels = map[string]*kernels.Kernel{
	"addU32": addU32, "copyU32": copyU32, "storeEvenU8": storeEvenU8, "loadU8At": loadU8At,
	"atomicInc": atomicInc, "handshake": handshake, "indirectAdd": indirectAdd,
}

// mmaps maps memory for a case's Inputs (private anonymous pages, as
// mmapAnon does for a conformance test) and unmaps it in the case's
// Release, after each run.
type mmaps struct {
	t    *testing.T
	live [][]byte
	// keep holds Go objects only mmap'd memory points to, which the GC
	// does not scan, until release.
	keep []any
}

func (m *mmaps) mmap(pages int) []byte {
	mem, err := syscall.Mmap(-1, 0, pages*pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		m.t.Fatalf("mmap: %v", err)
	}
	m.live = append(m.live, mem)
	return mem
}

func (m *mmaps) release([]any) {
	for _, mem := range m.live {
		if err := syscall.Munmap(mem); err != nil {
			m.t.Errorf("munmap: %v", err)
		}
	}
	m.live, m.keep = nil, nil
}

func suiteCases(t *testing.T) []kerneltest.Case {
	var cs []kerneltest.Case

	// hmm/private-anon-read-write and most hmm tests: buf[i] += v on 16
	// mmap'd pages holding w[i] = i.
	const words = 16 * pageSize / 4
	m := &mmaps{t: t}
	cs = append(cs, kerneltest.Case{
		Name: "conf_add_u32/mmap", Kernel: addU32, Range: range1(words),
		Inputs: func() []any {
			w := u32s(m.mmap(16))
			for i := range w {
				w[i] = uint32(i)
			}
			return []any{w, uint32(5), int32(len(w))}
		},
		Release: m.release,
	})
	// A partial launch: n not a multiple of the group size, v wrapping.
	cs = append(cs, kerneltest.Case{
		Name: "conf_add_u32/n=1000", Kernel: addU32, Range: range1(1000),
		Inputs: func() []any {
			w := make([]uint32, 1100)
			for i := range w {
				w[i] = uint32(i) * 0x9e3779b9
			}
			return []any{w, uint32(0xfffffff0), int32(1000)}
		},
	})
	// hmm/read-only-memory: copy out of memory the device only reads.
	cs = append(cs, kerneltest.Case{
		Name: "conf_copy_u32", Kernel: copyU32, Range: range1(words),
		Inputs: func() []any {
			src := make([]uint32, words)
			for i := range src {
				src[i] = uint32(i*i) ^ 0xa5a5a5a5
			}
			return []any{make([]uint32, words), src, int32(words)}
		},
	})
	// svm/byte-granularity: even bytes of 4 pages, odd bytes left as they are.
	cs = append(cs, kerneltest.Case{
		Name: "conf_store_even_u8", Kernel: storeEvenU8, Range: range1(2 * pageSize),
		Inputs: func() []any {
			buf := make([]byte, 4*pageSize)
			for i := range buf {
				buf[i] = byte(i % 251)
			}
			return []any{buf, uint32(101), int32(len(buf))}
		},
	})
	// svm/pointer-at-every-offset: a 320-byte allocation straddling a page
	// boundary of an mmap'd region, the kernel given a pointer to one byte.
	for _, o := range []int{0, 1, 2, 3, 7, 63, 64, 127, 158, 159, 160, 161, 162, 191, 255, 256, 318, 319} {
		m := &mmaps{t: t}
		cs = append(cs, kerneltest.Case{
			Name: fmt.Sprintf("conf_load_u8/offset=%d", o), Kernel: loadU8At, Range: kernels.Range1D(1, 1),
			Inputs: func() []any {
				mem := m.mmap(2)
				alloc := mem[pageSize-160 : pageSize+160]
				for i := range alloc {
					alloc[i] = byte(i*13 + 1)
				}
				return []any{make([]uint32, 1), unsafe.Pointer(&alloc[o])}
			},
			Release: m.release,
		})
	}
	// svm/host-device-atomics and hmm/exclusive-access (without the
	// concurrent host adds): 8192 increments over 16 words.
	cs = append(cs, kerneltest.Case{
		Name: "conf_atomic_inc", Kernel: atomicInc, Range: range1(8192),
		Inputs: func() []any { return []any{make([]uint32, 16), int32(16), int32(8192)} },
	})
	// svm/runs-without-wait: the kernel raises flag[0], spins until the
	// host raises flag[1], then raises flag[2]. Here the host's flag is
	// raised before the launch, so it does not spin: what is compared is
	// the atomics' results.
	cs = append(cs, kerneltest.Case{
		Name: "conf_handshake/host-flag-raised", Kernel: handshake, Range: kernels.Range1D(1, 1),
		Inputs: func() []any { return []any{[]uint32{0, 1, 0}} },
		Reference: func(args []any) {
			f := args[0].([]uint32)
			f[0], f[2] = 1, 1
		},
	})
	// svm/indirect-pointers: the data is reached through the struct's
	// pointer, so it is compared through Results (the struct itself holds
	// an address, different in every run).
	cs = append(cs, kerneltest.Case{
		Name: "conf_indirect_add", Kernel: indirectAdd, Range: kernels.Range1D(64, 64),
		Inputs: func() []any {
			s := &scaled{Data: new([64]uint32), Delta: 9}
			for i := range s.Data {
				s.Data[i] = uint32(i)
			}
			return []any{s}
		},
		Results: func(args []any) []kerneltest.Output {
			s := args[0].(*scaled)
			return []kerneltest.Output{{Name: "s.Data", Value: s.Data}, {Name: "s.Delta", Value: &s.Delta}}
		},
	})
	// svm/list-across-allocations (the library's ListWalk): lists whose
	// nodes alternate between the Go heap and an mmap'd region.
	lm := &mmaps{t: t}
	cs = append(cs, kerneltest.Case{
		Name: "list_walk/across-allocations", Kernel: kernels.ListWalk, Range: kernels.ListWalkRange(8),
		Inputs: func() []any {
			region := lm.mmap(2)
			mm := unsafe.Slice((*kernels.ListNode)(unsafe.Pointer(&region[0])), 2*pageSize/int(unsafe.Sizeof(kernels.ListNode{})))
			heads := make([]*kernels.ListNode, 8)
			k := 0
			for i := range heads {
				for j := 0; j < 5; j++ {
					var n *kernels.ListNode
					if (i+j)%2 == 0 {
						n = &kernels.ListNode{}
						// Reached only through an mmap'd node: without this a
						// GC freed it mid-case (simgpu read a garbage Next,
						// "address not mapped", on a loaded machine).
						lm.keep = append(lm.keep, n)
					} else {
						n = &mm[k*300%len(mm)]
						k++
					}
					n.Value = float32(i*10+j) / 3
					n.Next = heads[i]
					heads[i] = n
				}
			}
			return []any{make([]float32, len(heads)), heads, int32(len(heads))}
		},
		Release: lm.release,
		Reference: func(args []any) {
			copy(args[0].([]float32), kernels.RefListWalk(args[1].([]*kernels.ListNode)))
		},
	})
	return cs
}

// TestKernelsSourceMatchesBody: every suite kernel's OpenCL C (compiled
// for cpu and simgpu, built by PoCL) gives the same bits as its Go body.
func TestKernelsSourceMatchesBody(t *testing.T) {
	kerneltest.TAll(t, suiteCases(t), append(kerneltest.DefaultTargets(), "opencl/buffer")...)
}

// The same kernels built from OpenCL C only (kernels.Compile: parameters
// from the compiler, no Go declaration) against their Go bodies run on the
// host (or the case's reference).
func TestKernelsFromSource(t *testing.T) {
	var cs []kerneltest.Case
	for _, c := range suiteCases(t) {
		sc, err := kerneltest.FromSource(c)
		if errors.Is(err, kernels.ErrNoToolchain) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, sc)
	}
	kerneltest.TAll(t, cs, append(kerneltest.DefaultTargets(), "opencl/buffer")...)
}

// Every kernel the suite declares is checked or excluded with a reason.
func TestKernelsCheckCoversSuite(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^var (\w+) = &kernels\.Kernel\{`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			found++
			if suiteKernels[m[1]] == nil {
				t.Errorf("%s declares kernel %s: add it to suiteKernels and a case to suiteCases (or to notChecked, with the reason)", f, m[1])
			}
		}
	}
	if found != len(suiteKernels) {
		t.Errorf("found %d kernel declarations, suiteKernels lists %d", found, len(suiteKernels))
	}
	checked := map[*kernels.Kernel]bool{}
	for _, c := range suiteCases(t) {
		checked[c.Kernel] = true
	}
	for name, k := range suiteKernels {
		if why, excluded := notChecked[k]; excluded {
			t.Logf("%s (%s) not checked: %s", name, k.Name, why)
		} else if !checked[k] {
			t.Errorf("kernel %s (%s) has no case", name, k.Name)
		}
	}
}
