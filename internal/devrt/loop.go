package devrt

import (
	"regexp"
	"strings"

	"github.com/svmrt/svmrt/internal/clc"
)

// Group loops: the cpu device's fast path for kernels without barriers.
//
// A work-item that never waits at a barrier can run to its end before the
// next one starts, so a whole work-group is a plain loop around the kernel:
// no fiber per item, no per-item setup beyond rewriting its ids. The build
// decides per kernel, from the linked module's call graph, whether the
// kernel can reach __svm_barrier (barrier, work_group_barrier,
// wait_group_events all end there); OpenCL C has no function pointers, so
// the direct calls are the whole graph. For each kernel that cannot, the
// native module gets
//
//	void __svm_loop_<kernel>(void **args, svmk_item *first)
//
// (clc.GroupLoops: the arguments loaded once, then the kernel for each
// work-item with the ids kept in registers, all inlined by opt), and the
// scheduler runs a group by calling it once on the group's first item.
//
// A group loop assumes dimension 0's global ids are below
// clc.GroupLoopIDLimit (2^31), so that a kernel's int id is the id itself
// and neighbouring work-items' addresses differ by a constant; RunNative
// runs a launch that reaches the limit item by item instead. Its loop over
// a row carries clc.WorkItemLoopMarker, which the work-item jam (package
// wijam) looks for.
//
// Item loops: the simulated GPU's counterpart. There a work-item may stall
// at any access, on a page fault, and then either park on its fiber (it
// has stored something) or give its run up and start again later (it has
// only read): a group loop, which cannot stop at an item, would not do.
// Its instrumented module gets instead
//
//	void __svm_iloop_<kernel>(void **args, svmk_item *first)
//
// (clc.ItemLoops: the arguments loaded once, then the kernel for as long
// as __svm_iloop_next(first) says there is a next work-item), which the
// scheduler calls where it would call the trampoline (sched.c,
// dr_fiber_main). The step is the runtime's (rt_iloop_next): it ends the
// item just run and starts the next one exactly as the per-item path
// would — states, counter snapshots, the scheduler's position — and
// rewrites first's ids to the new item's, so a fault finds everything as
// if the item ran alone and can park it or give its run up mid-loop. What
// the loop saves is the per-item fiber entry (setjmp, a trampoline call
// and its argument loads) and item_init.
//
// Every module is linked with every kernel's loop of its kind; the build
// keeps only those of kernels that reach no barrier.

// LoopPrefix starts the name of a kernel's group loop in a native module.
const LoopPrefix = clc.LoopPrefix

// ItemLoopPrefix starts the name of a kernel's item loop in an
// instrumented module.
const ItemLoopPrefix = clc.ItemLoopPrefix

// barrierFn is the kernel-side runtime's barrier entry point.
const barrierFn = "__svm_barrier"

var (
	defineRE = regexp.MustCompile(`^define\b[^@]*@([-A-Za-z0-9_.$]+|"[^"]*")\(`)
	refRE    = regexp.MustCompile(`@([-A-Za-z0-9_.$]+|"[^"]*")`)
)

// callGraph returns, for every function defined in the textual IR ll, the
// global names its body refers to (calls, and any other reference, which
// only makes the graph larger: a conservative answer).
func callGraph(ll string) map[string][]string {
	g := map[string][]string{}
	var cur string
	in := false
	for _, line := range strings.Split(ll, "\n") {
		if !in {
			if m := defineRE.FindStringSubmatch(line); m != nil {
				cur, in = m[1], true
				g[cur] = nil
			}
			continue
		}
		if line == "}" {
			in = false
			continue
		}
		for _, m := range refRE.FindAllStringSubmatch(line, -1) {
			g[cur] = append(g[cur], m[1])
		}
	}
	return g
}

// barrierFree returns the kernels of ks whose trampoline cannot reach a
// barrier in the module ll.
func barrierFree(ll string, ks []clc.KernelInfo) []string {
	g := callGraph(ll)
	reaches := map[string]bool{}
	var visit func(fn string, seen map[string]bool) bool
	visit = func(fn string, seen map[string]bool) bool {
		if fn == barrierFn {
			return true
		}
		if r, ok := reaches[fn]; ok {
			return r
		}
		if seen[fn] {
			return false // a cycle (recursion is not OpenCL C, but do not loop)
		}
		seen[fn] = true
		for _, c := range g[fn] {
			if visit(c, seen) {
				reaches[fn] = true
				return true
			}
		}
		return false
	}
	var free []string
	for _, k := range ks {
		if !visit(clc.TrampolineName(k.Name), map[string]bool{}) {
			free = append(free, k.Name)
		}
	}
	return free
}
