package opencl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/internal/watchdog"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
	"github.com/svmrt/svmrt/svm/svmtest"
)

// Concurrent launches from several goroutines, on one device and on two
// devices sharing the OpenCL device, with the garbage collector running,
// at GOMAXPROCS 1 and 2: every result is right and nothing hangs.
func TestConcurrentLaunches(t *testing.T) {
	watchdog.Arm(t, 5*time.Minute, func() string { return svm.Default().ServiceState() })
	budget := 3 * time.Second
	if testing.Short() {
		budget = time.Second
	}
	for _, procs := range []int{1, 2} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("GOMAXPROCS=%d/%v", procs, m), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				devs := []*Device{openTest(t, m), openTest(t, m)}
				stop := make(chan struct{})
				var gc sync.WaitGroup
				gc.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							runtime.GC()
							_ = make([]byte, 1<<16)
							time.Sleep(time.Millisecond)
						}
					}
				})
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				deadline := time.Now().Add(budget)
				var launches atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for g := 0; g < 6; g++ {
					wg.Go(func() {
						d := devs[g%2]
						n := 257 + 64*g
						for iter := 0; time.Now().Before(deadline); iter++ {
							x, y := make([]float32, n), make([]float32, n)
							for i := range x {
								x[i], y[i] = float32(i), float32(g)
							}
							a, err := kernels.Bind(kernels.Saxpy, y, x, float32(iter%5), n)
							if err == nil {
								err = d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(n), a)
							}
							if err != nil {
								errs <- fmt.Errorf("goroutine %d launch %d: %w", g, iter, err)
								return
							}
							for i := range y {
								if want := float32(iter%5)*float32(i) + float32(g); y[i] != want {
									errs <- fmt.Errorf("goroutine %d launch %d: y[%d] = %v, want %v", g, iter, i, y[i], want)
									return
								}
							}
							launches.Add(1)
						}
					})
				}
				wg.Wait()
				close(stop)
				gc.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				if got := devs[0].Stats().Launches + devs[1].Stats().Launches; got != launches.Load() || got < 6 {
					t.Fatalf("%d launches counted, %d checked", got, launches.Load())
				}
				t.Logf("%d launches in %v", launches.Load(), budget)
			})
		}
	}
}

// waitFlag: item 0 sets flag[1], spins until the host sets flag[0], then
// sets flag[2].
var waitFlag = &kernels.Kernel{
	Name:   "test_wait_flag",
	Params: []kernels.Param{{Name: "flag", Kind: kernels.PtrU32, Written: true}},
	Source: `__kernel void test_wait_flag(__global volatile uint *flag) {
	if (get_global_id(0) != 0) return;
	flag[1] = 1;
	while (flag[0] == 0) {}
	flag[2] = 1;
}`,
}

// abandonWaiting launches waitFlag on d (which must see host memory while
// a kernel runs), waits until the kernel runs, cancels the launch's context
// and checks that Launch returned context.Canceled at once. It returns the
// kernel's flag: flag[0] = 1 releases the kernel (done at cleanup anyway),
// flag[2] says it finished.
func abandonWaiting(t *testing.T, d *Device) []uint32 {
	t.Helper()
	flag := make([]uint32, 3)
	t.Cleanup(func() { atomic.StoreUint32(&flag[0], 1) })
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	a := mustBind(t, waitFlag, flag)
	go func() { res <- d.Launch(ctx, waitFlag, kernels.Range1D(1, 1), a) }()
	for start := time.Now(); atomic.LoadUint32(&flag[1]) == 0; time.Sleep(time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			atomic.StoreUint32(&flag[0], 1)
			t.Fatal("the kernel did not start")
		}
	}
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		atomic.StoreUint32(&flag[0], 1)
		t.Fatal("Launch did not return after cancel")
	}
	return flag
}

// Cancelling the context while a kernel runs returns ctx.Err() at once; the
// kernel still completes, and Close waits for it.
func TestCancelWhileRunning(t *testing.T) {
	d := openTest(t, ModeAuto)
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs")
	}
	flag := abandonWaiting(t, d)
	if atomic.LoadUint32(&flag[2]) != 0 {
		t.Fatal("the kernel finished before the host let it")
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a kernel was still running")
	case <-time.After(100 * time.Millisecond):
	}
	atomic.StoreUint32(&flag[0], 1)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if atomic.LoadUint32(&flag[2]) != 1 {
		t.Fatal("the kernel did not complete before Close returned")
	}
	if err := d.Launch(context.Background(), waitFlag, kernels.Range1D(1, 1), mustBind(t, waitFlag, flag)); !errors.Is(err, svm.ErrClosed) {
		t.Fatalf("launch after close: %v", err)
	}
	// A context that is already done: nothing is enqueued.
	d2 := openTest(t, ModeAuto)
	out := []float32{1}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := d2.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(1), mustBind(t, kernels.Saxpy, out, out, float32(1), 1))
	if !errors.Is(err, context.Canceled) || out[0] != 1 || d2.Stats().Launches != 0 {
		t.Fatalf("launch with a cancelled context: %v, out %v", err, out)
	}
}

// Without an ICD loader, or with one that finds no platform, Open fails
// with ErrUnavailable and the reason (in a child process: the loader is
// loaded once per process).
func TestOpenUnavailable(t *testing.T) {
	for _, tc := range []struct{ name, env string }{
		{"no-vendor-files", "OCL_ICD_VENDORS=" + t.TempDir()},
		{"no-loader", EnvLibrary + "=/nonexistent/libOpenCL.so.1"},
	} {
		env := tc.env
		t.Run(tc.name, func(t *testing.T) {
			if os.Getenv("OPENCL_OPEN_CHILD") == "" {
				os.Setenv("OPENCL_CHILD_ENV", env)
				defer os.Unsetenv("OPENCL_CHILD_ENV")
			}
			if !childtest.InChild(t, "OPENCL_OPEN_CHILD", time.Minute) {
				return
			}
			_, err := Open(0)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Open: %v, want ErrUnavailable", err)
			}
			t.Log(err)
		})
	}
}

func TestMain(m *testing.M) {
	// A child of TestOpenUnavailable applies its environment before any
	// OpenCL call.
	if e := os.Getenv("OPENCL_CHILD_ENV"); e != "" && os.Getenv("OPENCL_OPEN_CHILD") != "" {
		for i := 0; i < len(e); i++ {
			if e[i] == '=' {
				os.Setenv(e[:i], e[i+1:])
				break
			}
		}
	}
	// The fault-service thread's internal errors reach no test: the binary
	// fails if it recorded any.
	svmtest.Main(m)
}
