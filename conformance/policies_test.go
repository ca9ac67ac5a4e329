package conformance

import (
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// The suite's behaviours hold under every memory policy of the simulated
// GPU: prefetching, read duplication, thrashing mitigation and zero-copy
// change where pages live and what it costs, never what a program sees.
func TestSuiteUnderEveryPolicy(t *testing.T) {
	for _, name := range svmrt.PolicyNames("simgpu") {
		if name == "demand" {
			continue // the default: TestSuite runs it
		}
		t.Run(name, func(t *testing.T) {
			b := Backend{Name: "simgpu/" + name, Open: func() (*svmrt.Device, error) {
				return svmrt.Open("simgpu", svmrt.WithVRAM(64<<20), svmrt.WithPolicy(name))
			}}
			runSuite(t, b)
		})
	}
}
