package conformance

import (
	"context"
	"testing"
	"time"

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
			for _, ct := range Tests() {
				t.Run(ct.Name, func(t *testing.T) {
					r := RunOne(context.Background(), b, ct, 2*time.Minute)
					switch r.Status {
					case Fail:
						t.Fatalf("%s: %s", ct.Doc, r.Reason)
					case Skip:
						t.Skip(r.Reason)
					}
				})
			}
		})
	}
}
