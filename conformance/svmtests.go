package conformance

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// OpenCL 2.0 fine-grained system SVM behaviours: kernels on raw host
// pointers.
var svmTests = []Test{
	{Name: "svm/byte-granularity", Doc: "host and device write interleaved bytes of the same pages while kernels are in flight; nothing is lost", Run: byteGranularity},
	{Name: "svm/pointer-at-every-offset", Doc: "a pointer argument at any byte offset of an allocation addresses that byte", Run: pointerOffsets},
	{Name: "svm/list-across-allocations", Doc: "a kernel follows a linked list whose nodes live in different allocations (Go heap and mmap)", Run: listAcrossAllocations},
	{Name: "svm/indirect-pointers", Doc: "memory reached only through pointers stored in structs is accessible to a kernel", Run: indirectPointers},
	{Name: "svm/host-device-atomics", Doc: "host and device atomic increments of the same words, concurrently, all count", Run: hostDeviceAtomics},
	{Name: "svm/runs-without-wait", Doc: "a submitted kernel runs while the host spins on memory it writes (flush semantics, not only at wait)", Run: runsWithoutWait},
}

func byteGranularity(c *C) {
	c.RequireCoherent()
	dev := c.Dev()
	buf := make([]byte, 4*pageSize)
	for round := 1; round <= 5; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pass := 0; ; pass++ {
				for i := 1; i < len(buf); i += 2 {
					buf[i] = byte(round)
				}
				select {
				case <-stop:
					if pass > 0 {
						return
					}
				default:
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		err := run(c, dev, storeEvenU8, range1(len(buf)/2), buf, uint32(round+100), int32(len(buf)))
		close(stop)
		wg.Wait()
		c.Check(err, "launch")
		for i, v := range buf {
			want := byte(round)
			if i%2 == 0 {
				want = byte(round + 100)
			}
			if v != want {
				c.Fatalf("round %d: byte %d = %d, want %d (a write was lost)", round, i, v, want)
			}
		}
	}
}

func pointerOffsets(c *C) {
	dev := c.Dev()
	// An allocation of 320 bytes that straddles a page boundary: the kernel
	// gets a pointer to each of its bytes in turn.
	mem := mmapAnon(c, 2)
	alloc := mem[pageSize-160 : pageSize+160]
	for i := range alloc {
		alloc[i] = byte(i*13 + 1)
	}
	// The output in a page of its own: a 4-byte Go allocation shares its
	// page with whatever the Go runtime puts beside it (the tiny
	// allocator), whose every touch brought the page home from the device
	// while the kernel's write faulted it back, until the launch gave up
	// ("the page keeps moving away"; seen under load).
	out := u32s(mmapAnon(c, 1))[:1]
	for o := range alloc {
		err := run(c, dev, loadU8At, kernels.Range1D(1, 1), out, unsafe.Pointer(&alloc[o]))
		c.SkipIfCannotFollow(err)
		c.Check(err, "launch")
		if out[0] != uint32(alloc[o]) {
			c.Fatalf("offset %d: kernel read %d, want %d", o, out[0], alloc[o])
		}
	}
}

func listAcrossAllocations(c *C) {
	dev := c.Dev()
	// Nodes: some on the Go heap, some in an mmap'd region (ordinary memory
	// the GC does not know; the Go-heap nodes keep pointers into it, which
	// is fine since nothing there is a Go object the GC must trace).
	region := mmapAnon(c, 2)
	nodeSize := unsafe.Sizeof(kernels.ListNode{})
	mm := unsafe.Slice((*kernels.ListNode)(unsafe.Pointer(&region[0])), 2*pageSize/int(nodeSize))
	heads := make([]*kernels.ListNode, 8)
	var keep []*kernels.ListNode
	k := 0
	for i := range heads {
		for j := 0; j < 5; j++ {
			var n *kernels.ListNode
			if (i+j)%2 == 0 {
				n = &kernels.ListNode{}
				keep = append(keep, n)
			} else {
				n = &mm[k*300%len(mm)] // spread over both pages
				k++
			}
			n.Value = float32(i*10 + j)
			n.Next = heads[i]
			heads[i] = n
		}
	}
	out := make([]float32, len(heads))
	err := run(c, dev, kernels.ListWalk, kernels.ListWalkRange(len(heads)), out, heads, int32(len(heads)))
	c.SkipIfCannotFollow(err)
	c.Check(err, "launch")
	ref := kernels.RefListWalk(heads)
	for i := range out {
		if out[i] != ref[i] {
			c.Fatalf("list %d: sum %v, want %v", i, out[i], ref[i])
		}
	}
	// The heap nodes reached only through mmap'd ones are invisible to the
	// GC: keep holds them until here (a "_ = keep" did not).
	runtime.KeepAlive(keep)
}

// scaled is a struct the kernel receives only a pointer to; the data it
// works on is reached through the struct's pointer field.
type scaled struct {
	Data  *[64]uint32
	Delta uint32
}

var indirectAdd = &kernels.Kernel{
	Name:   "conf_indirect_add",
	Params: []kernels.Param{{Name: "s", Kind: kernels.PtrAny, Written: true}},
	Source: `typedef struct { __global uint *data; uint delta; } scaled;
__kernel void conf_indirect_add(__global scaled *s) {
	int i = get_global_id(0);
	s->data[i] += s->delta;
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		s := a.Ptr(0)
		data := it.LoadPtr(s)
		delta := it.LoadU32(s + unsafe.Offsetof(scaled{}.Delta))
		p := data + uintptr(it.GlobalID(0))*4
		it.StoreU32(p, it.LoadU32(p)+delta)
	},
}

func indirectPointers(c *C) {
	dev := c.Dev()
	s := &scaled{Data: new([64]uint32), Delta: 9}
	for i := range s.Data {
		s.Data[i] = uint32(i)
	}
	err := run(c, dev, indirectAdd, kernels.Range1D(64, 64), s)
	c.SkipIfCannotFollow(err)
	c.Check(err, "launch")
	for i := range s.Data {
		if s.Data[i] != uint32(i)+9 {
			c.Fatalf("data[%d] = %d", i, s.Data[i])
		}
	}
}

func hostDeviceAtomics(c *C) {
	c.RequireCoherent()
	dev := c.Dev()
	words := make([]uint32, 16)
	const n = 1 << 13
	var hostAdds atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				atomic.AddUint32(&words[(i+g)%len(words)], 1)
				hostAdds.Add(1)
				if i%64 == 0 {
					time.Sleep(10 * time.Microsecond)
				}
			}
		}(g)
	}
	err := run(c, dev, atomicInc, range1(n), words, int32(len(words)), int32(n))
	close(stop)
	wg.Wait()
	c.Check(err, "launch")
	var total int64
	for i := range words {
		total += int64(atomic.LoadUint32(&words[i]))
	}
	if want := int64(n) + hostAdds.Load(); total != want {
		c.Fatalf("counted %d increments, want %d (%d device + %d host)", total, want, n, hostAdds.Load())
	}
}

func runsWithoutWait(c *C) {
	c.RequireCoherent()
	dev := c.Dev()
	// A first run with the handshake already answered builds the kernel for
	// the device (seconds of clang on a loaded machine), so the timed part
	// below measures when a launch starts, not how long it compiles.
	warm := []uint32{0, 1, 0}
	c.Check(run(c, dev, handshake, kernels.Range1D(1, 1), warm), "warm-up launch")
	flag := make([]uint32, 3)
	ev, err := dev.Launch(c.Ctx, handshake, kernels.Range1D(1, 1), flag)
	c.Check(err, "launch")
	deadline := time.Now().Add(30 * time.Second)
	for atomic.LoadUint32(&flag[0]) == 0 {
		if time.Now().After(deadline) {
			atomic.StoreUint32(&flag[1], 1) // let the kernel finish
			c.Fatalf("the kernel did not start running before Wait")
		}
		time.Sleep(100 * time.Microsecond)
	}
	atomic.StoreUint32(&flag[1], 1)
	c.Check(ev.Wait(c.Ctx), "wait")
	if atomic.LoadUint32(&flag[2]) != 1 {
		c.Fatalf("the kernel did not finish its handshake: %v", flag)
	}
}
