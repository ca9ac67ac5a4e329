package kernels_test

import (
	"errors"
	"fmt"

	"github.com/svmrt/svmrt/kernels"
)

// A launch by hand: bind the program's own slices, then run every work-group
// of the NDRange with RunGroup. Backends do exactly this, spread over their
// workers; with no Mem the body reads and writes the slices directly.
func ExampleRunGroup() {
	y := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	x := []float32{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}
	args, err := kernels.Bind(kernels.Saxpy, y, x, float32(0.5), len(y))
	if err != nil {
		panic(err)
	}
	nd := kernels.SaxpyRange(len(y))
	for g := 0; g < nd.TotalGroups(); g++ {
		if err := kernels.RunGroup(kernels.Saxpy, nd, g, args, kernels.GroupConfig{}); err != nil {
			panic(err)
		}
	}
	fmt.Println(y)
	// Output: [6 7 8 9 10 11 12 13 14 15]
}

// A kernel with local memory and barriers: RunGroup runs each group's
// work-items concurrently because SumReduce declares Barriers; the host adds
// up the per-group partial sums.
func ExampleRunGroup_reduction() {
	in := make([]float32, 1000)
	for i := range in {
		in[i] = 1
	}
	nd := kernels.SumRange(len(in), 128)
	partial := make([]float32, nd.TotalGroups())
	args, _ := kernels.Bind(kernels.SumReduce, partial, in, len(in))
	for g := 0; g < nd.TotalGroups(); g++ {
		if err := kernels.RunGroup(kernels.SumReduce, nd, g, args, kernels.GroupConfig{}); err != nil {
			panic(err)
		}
	}
	var sum float32
	for _, p := range partial {
		sum += p
	}
	fmt.Println(nd.TotalGroups(), "groups, sum", sum)
	// Output: 8 groups, sum 1000
}

// Kernels follow pointers stored in ordinary Go data structures: ListWalk is
// given a []*ListNode and walks each list on the "device".
func ExampleRunGroup_linkedList() {
	var heads []*kernels.ListNode
	for i := 1; i <= 3; i++ {
		var h *kernels.ListNode
		for j := 1; j <= i; j++ {
			h = &kernels.ListNode{Next: h, Value: float32(j)}
		}
		heads = append(heads, h)
	}
	out := make([]float32, len(heads))
	args, _ := kernels.Bind(kernels.ListWalk, out, heads, len(heads))
	nd := kernels.ListWalkRange(len(heads))
	for g := 0; g < nd.TotalGroups(); g++ {
		if err := kernels.RunGroup(kernels.ListWalk, nd, g, args, kernels.GroupConfig{}); err != nil {
			panic(err)
		}
	}
	fmt.Println(out)
	// Output: [1 3 6]
}

func ExampleNDRange_Validate() {
	err := kernels.Range1D(1000, 256).Validate()
	fmt.Println(errors.Is(err, kernels.ErrInvalidNDRange))
	fmt.Println(err)
	// Output:
	// true
	// kernels: invalid NDRange: global size 1000 in dim 0 is not a multiple of local size 256
}

func ExampleBind() {
	y := make([]float32, 4)
	_, err := kernels.Bind(kernels.Saxpy, y, []int32{1, 2, 3, 4}, float32(2), len(y))
	fmt.Println(errors.Is(err, kernels.ErrBadArgs))
	fmt.Println(err)
	// Output:
	// true
	// kernels: bad kernel arguments: kernel saxpy: param 1 (x): expected PtrF32 ([]float32, *float32, unsafe.Pointer or uintptr), got []int32
}
