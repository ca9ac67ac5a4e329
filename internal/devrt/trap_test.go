package devrt

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
)

const trapSrc = `
__kernel void poke(__global int *p, __global int *ok, int bad) {
	int i = get_global_id(0);
	if (i == bad) p[1] = 1;
	ok[i] = 1;
}
__kernel void divide(__global int *out, int num, int den, int bad) {
	int i = get_global_id(0);
	out[i] = i == bad ? num / den : i;
}
__kernel void poke_barrier(__global int *p, __global int *ok, int bad) {
	int i = get_global_id(0);
	if (i == bad) p[1] = 1;
	barrier(CLK_GLOBAL_MEM_FENCE);
	ok[i] = 1;
}
`

// A hardware fault in a native work-item (a PROT_NONE page, an integer
// division by zero) fails its work-group with FailSegv, the address and the
// signal; the process survives and the other groups' work is done.
func TestNativeTrap(t *testing.T) {
	m := compileFor(t, trapSrc, Native)
	bad := uint64(testmem.Addr(testmem.Map(t, 4096, syscall.PROT_NONE)))
	for _, name := range []string{"poke", "poke_barrier"} {
		e, err := m.Entry(name)
		if err != nil {
			t.Fatal(err)
		}
		if e.GroupLoop() != (name == "poke") {
			t.Errorf("%s: GroupLoop = %v", name, e.GroupLoop())
		}
		ok := onHeap[int32](256)
		l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{256}, Local: [3]int{32}},
			[]Arg{{Bytes: le64(bad)}, addr(ok), {Bytes: le32(37)}})
		if err != nil {
			t.Fatal(err)
		}
		f, err := RunNative(context.Background(), l, 1)
		l.Free()
		if err != nil {
			t.Fatal(err)
		}
		// A group loop (poke) may run items as vectors: the faulting item
		// is not known there (-1), only the group and the address.
		item := 5
		if name == "poke" {
			item = -1
		}
		if len(f) != 1 || f[0].Why != FailSegv || f[0].Group != 1 || f[0].LocalItem != item ||
			f[0].Addr != bad+4 || f[0].Signal != int(syscall.SIGSEGV) {
			t.Fatalf("%s: failures %+v, want group 1 item %d SIGSEGV at %#x", name, f, item, bad+4)
		}
		if ok[0] != 1 || ok[31] != 1 {
			t.Errorf("%s: group 0 did not run: %v", name, ok[:32])
		}
	}
	e, _ := m.Entry("divide")
	out := onHeap[int32](64)
	l, _ := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{64}, Local: [3]int{64}},
		[]Arg{addr(out), {Bytes: le32(7)}, {Bytes: le32(0)}, {Bytes: le32(3)}})
	defer l.Free()
	f, err := RunNative(context.Background(), l, 1)
	item := 3
	if e.GroupLoop() {
		item = -1 // not known in a group loop
	}
	if err != nil || len(f) != 1 || f[0].Why != FailSegv || f[0].Signal != int(syscall.SIGFPE) || f[0].LocalItem != item {
		t.Fatalf("divide by zero: %v %+v", err, f)
	}
}

// Many goroutines trapping at once, each on its own thread's SM, with the GC
// running: every launch reports its own fault and nothing else.
func TestNativeTrapConcurrent(t *testing.T) {
	m := compileFor(t, trapSrc, Native)
	bad := uint64(testmem.Addr(testmem.Map(t, 4096, syscall.PROT_NONE)))
	e, _ := m.Entry("poke")
	for _, procs := range []int{1, 4} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			trapStress(t, e, bad)
		})
	}
}

func trapStress(t *testing.T, e Entry, bad uint64) {
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-gcDone }()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 50 {
				ok := onHeap[int32](512)
				at := (g*50 + r) % 512
				l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{512}, Local: [3]int{64}},
					[]Arg{{Bytes: le64(bad)}, addr(ok), {Bytes: le32(uint32(at))}})
				if err != nil {
					t.Error(err)
					return
				}
				f, err := RunNative(context.Background(), l, 2)
				l.Free()
				runtime.KeepAlive(ok)
				item := at % 64
				if e.GroupLoop() {
					item = -1 // the faulting item of a group loop is not known
				}
				if err != nil || len(f) != 1 || f[0].Group != at/64 || f[0].LocalItem != item {
					t.Errorf("launch %d/%d: %v %+v", g, r, err, f)
					return
				}
			}
		})
	}
	wg.Wait()
}
