package kernels

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

const hangLimit = 20 * time.Second

// idFields is how many ints idKernel writes per work-item.
const idFields = 22

// idKernel records everything an Item reports about itself, at the item's
// global linear index, so the test can check every work-item function.
var idKernel = &Kernel{
	Name:   "ids",
	Params: []Param{{Name: "out", Kind: PtrI32, Written: true}},
	Body: func(it *Item, a *Args) {
		vals := [idFields]int{
			it.GlobalID(0), it.GlobalID(1), it.GlobalID(2),
			it.LocalID(0), it.LocalID(1), it.LocalID(2),
			it.GroupID(0), it.GroupID(1), it.GroupID(2),
			it.GlobalSize(0), it.GlobalSize(1), it.GlobalSize(2),
			it.LocalSize(0), it.LocalSize(1), it.LocalSize(2),
			it.NumGroups(0), it.NumGroups(1), it.NumGroups(2),
			it.GlobalLinear(), it.LocalLinear(), it.GroupLinear(), it.WorkDim(),
		}
		if it.GlobalID(3) != 0 || it.LocalID(-1) != 0 || it.GroupID(5) != 0 ||
			it.GlobalSize(3) != 1 || it.LocalSize(3) != 1 || it.NumGroups(3) != 1 {
			panic("out-of-range dimension answers")
		}
		base := a.Ptr(0) + uintptr(it.GlobalLinear()*idFields)*4
		for i, v := range vals {
			it.StoreI32(base+uintptr(i)*4, int32(v))
		}
	},
}

func TestItemIDs(t *testing.T) {
	for _, nd := range []NDRange{Range1D(24, 8), Range2D(12, 6, 4, 3), Range3D(6, 4, 4, 3, 2, 2), Range1D(5, 1)} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%dD/%s", nd.Dims, m.name), func(t *testing.T) {
				out := make([]int32, nd.GlobalSize()*idFields)
				for i := range out {
					out[i] = -1
				}
				cfg, cm := m.config()
				if err := runAll(idKernel, nd, mustBind(t, idKernel, out), cfg); err != nil {
					t.Fatal(err)
				}
				n := nd.norm()
				ng := nd.NumGroups()
				for z := 0; z < n.Global[2]; z++ {
					for y := 0; y < n.Global[1]; y++ {
						for x := 0; x < n.Global[0]; x++ {
							g := [3]int{x, y, z}
							lin := x + n.Global[0]*(y+n.Global[1]*z)
							var want [idFields]int
							for d := 0; d < 3; d++ {
								want[d] = g[d]
								want[3+d] = g[d] % n.Local[d]
								want[6+d] = g[d] / n.Local[d]
								want[9+d] = n.Global[d]
								want[12+d] = n.Local[d]
								want[15+d] = ng[d]
							}
							want[18] = lin
							want[19] = want[3] + n.Local[0]*(want[4]+n.Local[1]*want[5])
							want[20] = want[6] + ng[0]*(want[7]+ng[1]*want[8])
							want[21] = nd.Dims
							for i, w := range want {
								if got := out[lin*idFields+i]; int(got) != w {
									t.Fatalf("item %v field %d = %d, want %d", g, i, got, w)
								}
							}
						}
					}
				}
				if cm != nil && cm.stores.Load() != int64(len(out)) {
					t.Fatalf("Mem saw %d stores, want %d", cm.stores.Load(), len(out))
				}
			})
		}
	}
}

// rotateKernel passes values around the group through local memory: in each
// of `rounds` rounds every item reads its right neighbour's slot, a barrier,
// then writes its own. Without a working barrier the values get mixed up.
const rounds = 5

var rotateKernel = &Kernel{
	Name:       "rotate",
	Params:     []Param{{Name: "out", Kind: PtrI32, Written: true}},
	Barriers:   true,
	LocalBytes: func(nd NDRange, _ *Args) int { return nd.GroupSize() * 4 },
	Body: func(it *Item, a *Args) {
		l, n := it.LocalLinear(), it.LocalSize(0)*it.LocalSize(1)*it.LocalSize(2)
		s := unsafe.Slice((*int32)(unsafe.Pointer(&it.Local()[0])), n)
		s[l] = int32(it.GlobalLinear())
		for r := 0; r < rounds; r++ {
			it.Barrier()
			v := s[(l+1)%n]
			it.Barrier()
			s[l] = v
		}
		it.StoreI32(a.Ptr(0)+uintptr(it.GlobalLinear())*4, s[l])
	},
}

// A global work offset moves the global ids (and get_global_offset), not the
// sizes, the groups or the linear id.
func TestItemIDsWithOffset(t *testing.T) {
	k := &Kernel{
		Name:   "offset",
		Params: []Param{{Name: "out", Kind: PtrI32, Written: true}},
		Body: func(it *Item, a *Args) {
			base := a.Ptr(0) + uintptr(it.GlobalLinear()*4)*4
			for i, v := range []int{it.GlobalID(0), it.GlobalID(1), it.GlobalOffset(0) + 100*it.GlobalOffset(1), it.GroupLinear()} {
				it.StoreI32(base+uintptr(i)*4, int32(v))
			}
		},
	}
	nd := NDRange{Dims: 2, Global: [3]int{8, 4}, Local: [3]int{4, 2}, Offset: [3]int{5, 7}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			out := make([]int32, nd.GlobalSize()*4)
			cfg, _ := m.config()
			if err := runAll(k, nd, mustBind(t, k, out), cfg); err != nil {
				t.Fatal(err)
			}
			for y := 0; y < 4; y++ {
				for x := 0; x < 8; x++ {
					got := out[(y*8+x)*4 : (y*8+x)*4+4]
					want := []int32{int32(x + 5), int32(y + 7), 705, int32(y/2*2 + x/4)}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("item (%d, %d): %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestBarrier(t *testing.T) {
	for _, nd := range []NDRange{Range1D(64, 16), Range2D(8, 8, 4, 4), Range1D(3, 3), Range1D(4, 1), Range1D(1024, 1024)} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%v/%s", nd, m.name), func(t *testing.T) {
				out := make([]int32, nd.GlobalSize())
				cfg, _ := m.config()
				gate := &countingGate{}
				cfg.Gate = gate
				err := within(t, hangLimit, func() error { return runAll(rotateKernel, nd, mustBind(t, rotateKernel, out), cfg) })
				if err != nil {
					t.Fatal(err)
				}
				size := nd.GroupSize()
				for i, v := range out {
					// Item with local l ends with the value of local (l+rounds)%size of its group.
					g, l := i/size, i%size
					if nd.Dims == 2 {
						// Linear ids in a 2-D range are not group-contiguous; recompute.
						x, y := i%8, i/8
						g = (x / 4) + 2*(y/4)
						l = x%4 + 4*(y%4)
					}
					wl := (l + rounds) % size
					var want int
					if nd.Dims == 2 {
						gx, gy := g%2, g/2
						want = (gx*4 + wl%4) + 8*(gy*4+wl/4)
					} else {
						want = g*size + wl
					}
					if int(v) != want {
						t.Fatalf("out[%d] = %d, want %d", i, v, want)
					}
				}
				// Each barrier parks all but the releasing item.
				wantParks := int64(nd.TotalGroups() * 2 * rounds * (size - 1))
				if gate.parks.Load() != wantParks || gate.unparks.Load() != wantParks {
					t.Fatalf("parks %d unparks %d, want %d", gate.parks.Load(), gate.unparks.Load(), wantParks)
				}
			})
		}
	}
}

func TestBarrierDivergence(t *testing.T) {
	cases := []struct {
		name string
		body func(it *Item, a *Args)
		want string
	}{
		{"item returns early", func(it *Item, a *Args) {
			if it.LocalLinear() == 0 {
				return
			}
			it.Barrier()
		}, ""},
		{"item returns while others wait", func(it *Item, a *Args) {
			if it.LocalLinear() == 0 {
				waitGroupState(it, func(g *groupRun) bool { return g.waiting == 7 })
				return
			}
			it.Barrier()
		}, "returned while 7 work-item(s) wait at barrier #1"},
		{"item reaches a barrier late", func(it *Item, a *Args) {
			if it.LocalLinear() == 0 {
				waitGroupState(it, func(g *groupRun) bool { return g.exited == 7 })
				it.Barrier()
			}
		}, "reached barrier #1 after 7 work-item(s) returned"},
		{"one extra barrier", func(it *Item, a *Args) {
			it.Barrier()
			if it.LocalLinear() == 3 {
				it.Barrier()
			}
		}, "barrier #2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &Kernel{Name: "diverge", Barriers: true, Body: c.body}
			gate := &countingGate{}
			err := within(t, hangLimit, func() error {
				return RunGroup(k, Range1D(8, 8), 0, mustBind(t, k), GroupConfig{Gate: gate})
			})
			if !errors.Is(err, ErrBarrierDivergence) {
				t.Fatalf("got %v, want ErrBarrierDivergence", err)
			}
			if !strings.Contains(err.Error(), "diverge") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%q does not name the kernel or say %q", err, c.want)
			}
			if gate.parked.Load() != 0 || gate.parks.Load() != gate.unparks.Load() {
				t.Fatalf("gate unbalanced: parks %d unparks %d", gate.parks.Load(), gate.unparks.Load())
			}
		})
	}
}

// waitGroupState blocks the calling item until cond holds for its group, to
// force one interleaving of the items.
func waitGroupState(it *Item, cond func(*groupRun) bool) {
	for {
		it.g.mu.Lock()
		ok := cond(it.g)
		it.g.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

var errFault = errors.New("test: device fault at 0xdead")

func TestAbortInBarrierKernel(t *testing.T) {
	// One item of one group gets a Mem that faults on every access while the
	// rest of its group waits at SumReduce's first barrier (or arrives later).
	n := 4096
	in := make([]float32, n)
	for _, failing := range []int{0, 5, 255} {
		t.Run(fmt.Sprint("item", failing), func(t *testing.T) {
			nd := SumRange(n, 256)
			partial := make([]float32, nd.TotalGroups())
			a := mustBind(t, SumReduce, partial, in, n)
			cm := &countingMem{}
			gate := &countingGate{}
			cfg := GroupConfig{Gate: gate, MemFor: func(l int) Mem {
				if l == failing {
					return abortMem{errFault}
				}
				return cm
			}}
			err := within(t, hangLimit, func() error { return RunGroup(SumReduce, nd, 3, a, cfg) })
			if err != errFault {
				t.Fatalf("got %v, want the Mem's error unchanged", err)
			}
			if gate.parked.Load() != 0 {
				t.Fatalf("%d items still parked", gate.parked.Load())
			}
		})
	}
	// An Abort without an error, and an Abort value instead of a pointer.
	for _, v := range []any{&Abort{}, Abort{Err: errFault}, (*Abort)(nil)} {
		k := &Kernel{Name: "abort", Body: func(*Item, *Args) { panic(v) }}
		err := RunGroup(k, Range1D(4, 4), 0, mustBind(t, k), GroupConfig{})
		if err == nil || (v == any(Abort{Err: errFault}) && err != errFault) {
			t.Fatalf("panic(%#v): got %v", v, err)
		}
	}
	if (&Abort{Err: errFault}).Error() != errFault.Error() || !errors.Is(&Abort{Err: errFault}, errFault) || (&Abort{}).Error() == "" {
		t.Fatal("Abort as an error")
	}
}

func TestSequentialStopsAtFailure(t *testing.T) {
	y := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	x := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	a := mustBind(t, Saxpy, y, x, float32(1), len(y))
	cfg := GroupConfig{MemFor: func(l int) Mem {
		if l == 3 {
			return abortMem{errFault}
		}
		return nil
	}}
	if err := RunGroup(Saxpy, Range1D(8, 8), 0, a, cfg); err != errFault {
		t.Fatalf("got %v", err)
	}
	if want := []float32{2, 2, 2, 1, 1, 1, 1, 1}; fmt.Sprint(y) != fmt.Sprint(want) {
		t.Fatalf("y = %v, want %v (items after the failure must not run)", y, want)
	}
}

func TestPanicBecomesError(t *testing.T) {
	boom := &Kernel{Name: "boom", Body: func(it *Item, a *Args) {
		if it.GlobalID(0) == 11 && it.GlobalID(1) == 2 {
			panic("boom")
		}
	}}
	index := &Kernel{Name: "index", Body: func(it *Item, a *Args) {
		var s []int
		_ = s[it.GlobalID(0)]
	}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg, _ := m.config()
			err := within(t, hangLimit, func() error { return runAll(boom, Range2D(16, 4, 8, 2), mustBind(t, boom), cfg) })
			var pe *PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *PanicError", err)
			}
			if pe.Kernel != "boom" || pe.GlobalID != [3]int{11, 2, 0} || pe.Value != "boom" || pe.Group != 3 || len(pe.Stack) == 0 || pe.Fault {
				t.Fatalf("PanicError %+v", pe)
			}
			for _, w := range []string{"boom", "(11,2,0)", "work-group 3"} {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q does not say %q", err, w)
				}
			}
			err = runAll(index, Range1D(4, 4), mustBind(t, index), cfg)
			var re runtime.Error
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "index out of range") {
				t.Fatalf("got %v, want a wrapped runtime.Error", err)
			}
		})
	}
}

func TestGoexitInConcurrentItem(t *testing.T) {
	k := &Kernel{Name: "exit", Body: func(it *Item, a *Args) {
		if it.LocalLinear() == 1 {
			runtime.Goexit()
		}
	}}
	err := within(t, hangLimit, func() error { return RunGroup(k, Range1D(4, 4), 0, mustBind(t, k), GroupConfig{Concurrent: true}) })
	if err == nil || !strings.Contains(err.Error(), "Goexit") {
		t.Fatalf("got %v", err)
	}
}

func TestBarrierWithoutFlag(t *testing.T) {
	k := &Kernel{Name: "sneaky", Body: func(it *Item, a *Args) { it.Barrier() }}
	err := within(t, hangLimit, func() error { return RunGroup(k, Range1D(4, 4), 0, mustBind(t, k), GroupConfig{}) })
	if err == nil || !strings.Contains(err.Error(), "Kernel.Barriers") {
		t.Fatalf("sequential: got %v", err)
	}
	// Concurrent items really wait for each other, flag or not.
	if err := RunGroup(k, Range1D(4, 4), 0, mustBind(t, k), GroupConfig{Concurrent: true}); err != nil {
		t.Fatalf("concurrent: %v", err)
	}
	// A group of one never waits.
	if err := RunGroup(k, Range1D(4, 1), 2, mustBind(t, k), GroupConfig{}); err != nil {
		t.Fatalf("group of one: %v", err)
	}
}

func TestLocalMemory(t *testing.T) {
	var bad atomic.Int32
	k := &Kernel{
		Name:       "local",
		Barriers:   true,
		LocalBytes: func(NDRange, *Args) int { return 12 },
		Body: func(it *Item, a *Args) {
			l := it.Local()
			if len(l) != 12 || len(it.LocalF32()) != 3 || uintptr(unsafe.Pointer(&l[0]))%8 != 0 {
				bad.Add(1)
			}
			for _, b := range l {
				if b != 0 {
					bad.Add(1)
				}
			}
			it.Barrier() // all have checked before anyone dirties it
			if it.LocalLinear() == 0 {
				for i := range l {
					l[i] = 0xff
				}
			}
		},
	}
	buf := make([]byte, 64)
	for _, local := range [][]byte{nil, buf, buf[1:], buf[:4]} {
		for g := 0; g < 3; g++ {
			if err := RunGroup(k, Range1D(12, 4), g, mustBind(t, k), GroupConfig{Local: local}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if bad.Load() != 0 {
		t.Fatalf("%d bad observations of local memory", bad.Load())
	}
	if buf[0] != 0xff || buf[11] != 0xff || buf[12] != 0 {
		t.Fatal("a large enough aligned GroupConfig.Local was not used")
	}
	neg := &Kernel{Name: "neg", LocalBytes: func(NDRange, *Args) int { return -1 }, Body: func(*Item, *Args) {}}
	if err := RunGroup(neg, Range1D(1, 1), 0, mustBind(t, neg), GroupConfig{}); err == nil {
		t.Fatal("negative LocalBytes accepted")
	}
}

func TestRunGroupErrors(t *testing.T) {
	a := mustBind(t, idKernel, make([]int32, 64*idFields))
	if err := RunGroup(idKernel, Range1D(64, 48), 0, a, GroupConfig{}); !errors.Is(err, ErrInvalidNDRange) {
		t.Errorf("bad range: %v", err)
	}
	for _, g := range []int{-1, 4, 100} {
		if err := RunGroup(idKernel, Range1D(64, 16), g, a, GroupConfig{}); !errors.Is(err, ErrInvalidNDRange) || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("group %d: %v", g, err)
		}
	}
	if err := RunGroup(idKernel, Range1D(64, 16), 0, nil, GroupConfig{}); !errors.Is(err, ErrBadArgs) {
		t.Errorf("nil args: %v", err)
	}
	if err := RunGroup(idKernel, Range1D(64, 16), 0, &Args{Words: []uint64{0, 0}}, GroupConfig{}); !errors.Is(err, ErrBadArgs) {
		t.Errorf("wrong count: %v", err)
	}
	if err := RunGroup(&Kernel{Name: "nobody"}, Range1D(1, 1), 0, &Args{}, GroupConfig{}); err == nil {
		t.Error("kernel without body accepted")
	}
	if err := RunGroup(nil, Range1D(1, 1), 0, &Args{}, GroupConfig{}); err == nil {
		t.Error("nil kernel accepted")
	}
}

func TestPanicOnFaultRestored(t *testing.T) {
	old := debug.SetPanicOnFault(false)
	defer debug.SetPanicOnFault(old)
	k := &Kernel{Name: "nop", Body: func(*Item, *Args) {}}
	if err := RunGroup(k, Range1D(2, 2), 0, mustBind(t, k), GroupConfig{}); err != nil {
		t.Fatal(err)
	}
	if debug.SetPanicOnFault(false) {
		t.Fatal("RunGroup left SetPanicOnFault(true) on the caller's goroutine")
	}
}

func TestAtomics(t *testing.T) {
	k := &Kernel{
		Name:   "atomics",
		Params: []Param{{Name: "c", Kind: PtrU32, Written: true}},
		Body: func(it *Item, a *Args) {
			p := a.Ptr(0)
			it.AtomicAddU32(p, 1)
			it.AtomicAddI32(p+4, -2)
			it.AtomicAddF32(p+8, 0.5)
			for { // increment via CAS
				old := it.AtomicLoadU32(p + 12)
				if it.AtomicCASU32(p+12, old, old+3) {
					break
				}
			}
		},
	}
	nd := Range1D(512, 64)
	for _, m := range modes {
		c := make([]uint32, 4)
		cfg, cm := m.config()
		if m.concurrent {
			// Concurrent groups too, so atomics really race.
			errs := make(chan error, nd.TotalGroups())
			a := mustBind(t, k, c)
			for g := 0; g < nd.TotalGroups(); g++ {
				go func() { errs <- RunGroup(k, nd, g, a, cfg) }()
			}
			for range nd.TotalGroups() {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		} else if err := runAll(k, nd, mustBind(t, k, c), cfg); err != nil {
			t.Fatal(err)
		}
		f := *(*float32)(unsafe.Pointer(&c[2]))
		if c[0] != 512 || int32(c[1]) != -1024 || f != 256 || c[3] != 1536 {
			t.Fatalf("%s: got %d %d %v %d", m.name, c[0], int32(c[1]), f, c[3])
		}
		if cm != nil && cm.atomics.Load() < 4*512 {
			t.Fatalf("%s: Mem saw %d atomics", m.name, cm.atomics.Load())
		}
	}
}

func TestAccessorsRoundTrip(t *testing.T) {
	k := &Kernel{
		Name:   "rt",
		Params: []Param{{Name: "buf", Kind: PtrU8, Written: true}},
		Body: func(it *Item, a *Args) {
			p := a.Ptr(0)
			it.StoreU8(p, it.LoadU8(p)+1)
			it.StoreI32(p+4, it.LoadI32(p+4)-5)
			it.StoreU32(p+8, it.LoadU32(p+8)*2)
			it.StoreF32(p+12, it.LoadF32(p+12)*1.5)
			it.StoreU64(p+16, it.LoadU64(p+16)+1<<40)
			it.StoreU64(p+24, uint64(it.LoadPtr(p+24))+8)
		},
	}
	for _, m := range modes {
		buf := make([]byte, 32)
		*(*int32)(unsafe.Pointer(&buf[4])) = 3
		*(*uint32)(unsafe.Pointer(&buf[8])) = 21
		*(*float32)(unsafe.Pointer(&buf[12])) = 2
		*(*uintptr)(unsafe.Pointer(&buf[24])) = 0x1000
		cfg, cm := m.config()
		if err := RunGroup(k, Range1D(1, 1), 0, mustBind(t, k, buf), cfg); err != nil {
			t.Fatal(err)
		}
		if buf[0] != 1 || *(*int32)(unsafe.Pointer(&buf[4])) != -2 || *(*uint32)(unsafe.Pointer(&buf[8])) != 42 ||
			*(*float32)(unsafe.Pointer(&buf[12])) != 3 || *(*uint64)(unsafe.Pointer(&buf[16])) != 1<<40 ||
			*(*uintptr)(unsafe.Pointer(&buf[24])) != 0x1008 {
			t.Fatalf("%s: buf = %v", m.name, buf)
		}
		if cm != nil && (cm.loads.Load() != 6 || cm.stores.Load() != 6) {
			t.Fatalf("%s: Mem saw %d loads %d stores", m.name, cm.loads.Load(), cm.stores.Load())
		}
	}
}
