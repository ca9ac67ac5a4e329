package simgpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

var incKernel = &kernels.Kernel{
	Name:   "inc",
	Params: []kernels.Param{{Name: "w", Kind: kernels.PtrU32, Written: true}, {Name: "nw", Kind: kernels.I32}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		it.AtomicAddU32(a.Ptr(0)+uintptr(it.GlobalID(0)%int(a.I32(1)))*4, 1)
	},
}

// Device-local atomics race with CPU touches that revoke the device's
// access (bring the page home): every update must survive, with no hang,
// whatever GOMAXPROCS.
func TestDeviceAtomicsSurviveRevocation(t *testing.T) {
	needUFFD(t)
	for _, procs := range []int{1, 2} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			d := newDev(t)
			words := make([]uint32, 64)
			const n = 4096
			rounds := 8
			var touches atomic.Int64
			for r := 0; r < rounds; r++ {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						_ = atomic.LoadUint32(&words[r%len(words)]) // revokes
						touches.Add(1)
						time.Sleep(200 * time.Microsecond)
					}
				}()
				done := make(chan error, 1)
				go func() { done <- run(t, d, incKernel, kernels.Range1D(n, 64), words, int32(len(words))) }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("GOMAXPROCS=%d round %d: launch hung", procs, r)
				}
				close(stop)
				wg.Wait()
			}
			for i, w := range words {
				if w != uint32(rounds*n/len(words)) {
					t.Fatalf("GOMAXPROCS=%d: word %d = %d, want %d (lost atomic updates)", procs, i, w, rounds*n/len(words))
				}
			}
			if s := svm.Default().ServiceStats(); s.Errors != 0 {
				t.Fatalf("service errors %+v", s)
			}
			t.Logf("GOMAXPROCS=%d: %d CPU touches, device %+v", procs, touches.Load(), d.Stats())
		}()
	}
}
