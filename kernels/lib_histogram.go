package kernels

// Histogram counts data[0:n) into nbins bins with atomics on global memory:
// work-item i does atomic_inc(&bins[data[i] % nbins]). bins is added to, not
// cleared, so several launches accumulate. Launch it over HistogramRange(n);
// items with i >= n, and every item when nbins <= 0, do nothing.
var Histogram = &Kernel{
	Name: "histogram",
	Params: []Param{
		{Name: "bins", Kind: PtrU32, Written: true},
		{Name: "data", Kind: PtrU32},
		{Name: "n", Kind: I32},
		{Name: "nbins", Kind: I32},
	},
	Source: histogramSource,
	Body:   histogramBody,
}

const histogramSource = `// bins[data[i] % nbins] += 1 for i < n, with global atomics.
__kernel void histogram(__global uint *bins,
                        __global const uint *data,
                        int n,
                        int nbins)
{
    int i = get_global_id(0);
    if (i < n && nbins > 0)
        atomic_inc(&bins[data[i] % (uint)nbins]);
}
`

func histogramBody(it *Item, a *Args) {
	i := it.GlobalID(0)
	nbins := a.I32(3)
	if i >= int(a.I32(2)) || nbins <= 0 {
		return
	}
	bin := it.LoadU32(a.Ptr(1)+uintptr(i)*4) % uint32(nbins)
	it.AtomicAddU32(a.Ptr(0)+uintptr(bin)*4, 1)
}

// HistogramRange is a 1-D NDRange covering n elements in groups of 256 (or
// one group of n when n < 256). For n <= 0 it is a single idle work-item.
func HistogramRange(n int) NDRange { return coverRange(n, 256) }

// RefHistogram is the plain-Go reference for Histogram: it adds the counts of
// data[0:n) into bins.
func RefHistogram(bins, data []uint32, n int) {
	if len(bins) == 0 {
		return
	}
	for _, v := range data[:n] {
		bins[v%uint32(len(bins))]++
	}
}
