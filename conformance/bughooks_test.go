//go:build svmrt_testhooks

package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/svmrt/svmrt/backends/simgpu"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm/svmtest"
)

// Tests that need the simulated GPU's test-only bug hooks (simgpu.Bugs),
// built only with the tag svmrt_testhooks: go test -tags svmrt_testhooks.

// The suite catches broken behaviour: each deliberately broken device (or
// core) must fail the test that covers the behaviour it breaks.
func TestSuiteCatchesBrokenBehaviour(t *testing.T) {
	if svmrt.Degraded() != nil {
		t.Skip("needs migration: ", svmrt.Degraded())
	}
	cases := []struct {
		name, test string
		bugs       simgpu.Bugs
		core       svmtest.Bug
	}{
		{"device ignores write protection after mprotect", "hmm/mprotect-on-device", simgpu.Bugs{IgnoreProtection: true}, 0},
		{"byte stores clobber neighbours", "svm/byte-granularity", simgpu.Bugs{WideByteStores: true}, 0},
		{"device forgets to invalidate on munmap", "hmm/munmap", simgpu.Bugs{TrustPageTable: true}, svmtest.IgnoreUnmap},
	}
	byName := map[string]Test{}
	for _, ct := range Tests() {
		byName[ct.Name] = ct
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bugs.WideByteStores && raceEnabled {
				// The bug is a data race by construction (a byte store
				// as a plain read-modify-write of its word, from
				// concurrent work-items): the race detector reports the
				// simulated bug itself.
				t.Skip("the simulated bug is a real data race; the race detector would report it")
			}
			ct, ok := byName[tc.test]
			if !ok {
				t.Fatalf("no test %s", tc.test)
			}
			broken := Backend{Name: "simgpu-broken", Open: func() (*svmrt.Device, error) {
				return svmrt.Open("simgpu", svmrt.WithVRAM(64<<20), svmrt.WithBackendOptions(simgpu.WithBugs(tc.bugs)))
			}}
			svmtest.Set(tc.core)
			r := RunOne(context.Background(), broken, ct, time.Minute)
			svmtest.Set(0)
			if r.Status != Fail {
				t.Fatalf("%s passed as %s on a device where %s", tc.test, r.Status, tc.name)
			}
			t.Logf("%s fails as it should: %s", tc.test, r.Reason)
			// And the same test passes on a sound device.
			if r := RunOne(context.Background(), Backends()[1], ct, time.Minute); r.Status != Pass {
				t.Fatalf("%s on a sound simgpu: %s: %s", tc.test, r.Status, r.Reason)
			}
		})
	}
}
