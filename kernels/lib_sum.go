package kernels

import (
	"runtime"
	"sync"
)

// SumReduce sums in[0:n) per work-group: each item loads one element (0 past
// n) into local memory, the group adds them up in a tree with a barrier after
// every level, and item 0 writes the group's sum to partial[group]. The host
// finishes the sum over the nd.TotalGroups() partials. Launch it over
// SumRange(n, local); the tree handles any group size, not only powers of two.
//
// Ids are linear (get_global_linear_id, get_local_linear_id, linear group
// index), so any 1-, 2- or 3-D range adds every element below n exactly once;
// RefSumReduce and HostFast model the 1-D ranges SumRange makes.
//
// Float addition is not associative: the partials depend on the group size,
// and a sum of them differs from a sequential loop. Body, HostFast and
// RefSumReduce use the same tree, so they agree exactly.
var SumReduce = &Kernel{
	Name: "sum_reduce",
	Params: []Param{
		{Name: "partial", Kind: PtrF32, Written: true},
		{Name: "in", Kind: PtrF32},
		{Name: "n", Kind: I32},
	},
	Source:     sumReduceSource,
	Barriers:   true,
	LocalBytes: func(nd NDRange, _ *Args) int { return nd.GroupSize() * 4 },
	Body:       sumReduceBody,
	HostFast:   sumReduceHostFast,
}

const sumReduceSource = `// partial[group] = sum of in[i] over the group's work-items i (0 for i >= n).
// scratch: one float per work-item of the group (dynamic local memory).
__kernel void sum_reduce(__global float *partial,
                         __global const float *in,
                         int n,
                         __local float *scratch)
{
    size_t lid = get_local_linear_id();
    size_t lsize = get_local_size(0) * get_local_size(1) * get_local_size(2);
    size_t i = get_global_linear_id();
    size_t group = get_group_id(0) +
                   get_num_groups(0) * (get_group_id(1) + get_num_groups(1) * get_group_id(2));

    scratch[lid] = (i < (size_t)max(n, 0)) ? in[i] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);

    // Tree over the smallest power of two >= lsize; partners past lsize are absent.
    size_t p = 1;
    while (p < lsize)
        p <<= 1;
    for (size_t h = p >> 1; h > 0; h >>= 1) {
        if (lid < h && lid + h < lsize)
            scratch[lid] += scratch[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        partial[group] = scratch[0];
}
`

func sumReduceBody(it *Item, a *Args) {
	lid := it.LocalLinear()
	lsize := it.LocalSize(0) * it.LocalSize(1) * it.LocalSize(2)
	i := it.GlobalLinear()
	s := it.LocalF32()
	var v float32
	if i < int(a.I32(2)) {
		v = it.LoadF32(a.Ptr(1) + uintptr(i)*4)
	}
	s[lid] = v
	it.Barrier()
	p := 1
	for p < lsize {
		p <<= 1
	}
	for h := p >> 1; h > 0; h >>= 1 {
		if lid < h && lid+h < lsize {
			s[lid] += s[lid+h]
		}
		it.Barrier()
	}
	if lid == 0 {
		it.StoreF32(a.Ptr(0)+uintptr(it.GroupLinear())*4, s[0])
	}
}

// SumRange is the 1-D NDRange for SumReduce over n elements in groups of
// local work-items (256 if local <= 0, at most MaxWorkGroupSize, at most n).
// The partial sums need nd.TotalGroups() floats.
func SumRange(n, local int) NDRange {
	if local <= 0 {
		local = 256
	}
	return coverRange(n, min(local, MaxWorkGroupSize))
}

// RefSumReduce is the plain-Go reference for SumReduce over SumRange(n,
// local): the per-group partial sums, added in the kernel's tree order.
func RefSumReduce(in []float32, n, local int) []float32 {
	nd := SumRange(n, local)
	l := nd.Local[0]
	partial := make([]float32, nd.TotalGroups())
	s := make([]float32, l)
	for g := range partial {
		for j := range s {
			s[j] = 0
			if i := g*l + j; i < n {
				s[j] = in[i]
			}
		}
		partial[g] = treeSum(s)
	}
	return partial
}

// treeSum adds s up in place the way the kernel's tree does: at each level h
// (halving from the power of two below len(s)), s[i] += s[i+h] for i < h.
func treeSum(s []float32) float32 {
	p := 1
	for p < len(s) {
		p <<= 1
	}
	for h := p >> 1; h > 0; h >>= 1 {
		for i := 0; i < h && i+h < len(s); i++ {
			s[i] += s[i+h]
		}
	}
	return s[0]
}

// sumReduceHostFast runs the same tree per group without goroutines per
// work-item (which Body needs for its barriers), groups spread over
// GOMAXPROCS goroutines.
func sumReduceHostFast(nd NDRange, a *Args, _ int) bool {
	if nd.Dims != 1 || len(a.Ranges) < 2 {
		return false
	}
	n := int(a.I32(2))
	groups, l := nd.TotalGroups(), nd.Local[0]
	partial, ok1 := hostF32(a, 0, groups)
	in, ok2 := hostF32(a, 1, max(0, min(n, nd.Global[0])))
	if !ok1 || (!ok2 && n > 0) || a.Ranges[0].overlaps(a.Ranges[1]) {
		return false
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), groups))
	per := (groups + workers - 1) / workers
	var wg sync.WaitGroup
	for g0 := 0; g0 < groups; g0 += per {
		wg.Go(func() {
			s := make([]float32, l)
			for g := g0; g < min(g0+per, groups); g++ {
				for j := range s {
					s[j] = 0
					if i := g*l + j; i < len(in) {
						s[j] = in[i]
					}
				}
				partial[g] = treeSum(s)
			}
		})
	}
	wg.Wait()
	return true
}
