package conformance

import (
	"testing"

	"github.com/svmrt/svmrt/backends/simgpu"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// The suite's behaviours hold under every memory policy of the simulated
// GPU: prefetching, read duplication, thrashing mitigation and zero-copy
// change where pages live and what it costs, never what a program sees.
func TestSuiteUnderEveryPolicy(t *testing.T) {
	for _, name := range simgpu.PolicyNames() {
		if name == "demand" {
			continue // the default: TestSuite runs it
		}
		t.Run(name, func(t *testing.T) {
			b := Backend{Name: "simgpu/" + name, Open: func() (*svmrt.Device, error) {
				p, err := simgpu.PolicyByName(name)
				if err != nil {
					return nil, err
				}
				return svmrt.Open("simgpu", svmrt.WithVRAM(64<<20), svmrt.WithPolicy(p))
			}}
			runSuite(t, b)
		})
	}
}
