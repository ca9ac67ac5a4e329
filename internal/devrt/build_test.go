package devrt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/clc"
)

func compileFor(t testing.TB, src string, target Target) *Module {
	t.Helper()
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Skip(err)
	}
	m, err := tc.Compile(context.Background(), src, clc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Build(context.Background(), tc, m, target)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// onHeap returns n zeroed Ts on the Go heap. Kernels get a buffer's
// address as an integer (addr), which escape analysis cannot see: a make'd
// slice it then keeps on the goroutine's stack moves when the stack grows,
// and the kernel writes into freed stack memory — another goroutine's
// stack, later (seen: a stack full of the 1s a kernel stores).
func onHeap[T any](n int) []T {
	s := make([]T, n)
	sinkMu.Lock()
	sink = s
	sinkMu.Unlock()
	return s
}

var (
	sinkMu sync.Mutex
	sink   any
)

func addr[T any](s []T) Arg {
	return Arg{Bytes: le64(uint64(uintptr(unsafe.Pointer(&s[0]))))}
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func le32(v uint32) []byte { return le64(uint64(v))[:4] }

// Two callers building the same module share one build; when the caller
// that started it gives up (its context ends), the other, whose context is
// live, still gets the module instead of the first caller's cancellation.
// (Seen in the conformance suite: a test that timed out while its kernel
// compiled failed the next one with "context deadline exceeded".)
func TestBuildOutlivesAnotherCallersCancellation(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Skip(err)
	}
	// A source no earlier run has built, so neither the process nor the
	// disk cache holds it and the build takes the toolchain's time.
	src := fmt.Sprintf("// build %d\n__kernel void k(__global int *p) { p[get_global_id(0)] += 1; }\n", time.Now().UnixNano())
	m, err := tc.Compile(context.Background(), src, clc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := Build(first, tc, m, Native)
		firstErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // the first caller's build is running
	second := make(chan error, 1)
	go func() {
		mod, err := Build(context.Background(), tc, m, Native)
		if err == nil && mod == nil {
			err = fmt.Errorf("no module and no error")
		}
		second <- err
	}()
	time.Sleep(80 * time.Millisecond)
	cancel()
	err1 := <-firstErr
	if err1 == nil {
		t.Skipf("the build finished in %v, before the first caller gave up: nothing shared a cancelled build", time.Since(start))
	}
	if !errors.Is(err1, context.Canceled) {
		t.Fatalf("first caller: %v, want context.Canceled", err1)
	}
	if err := <-second; err != nil {
		t.Fatalf("second caller, whose context is live: %v", err)
	}
}
