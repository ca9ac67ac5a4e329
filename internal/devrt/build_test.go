package devrt

import (
	"context"
	"sync"
	"testing"
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
