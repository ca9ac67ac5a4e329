package conformance

import (
	"context"
	"testing"
	"time"
)

// TestSuite runs every conformance test on every backend that opens here.
func TestSuite(t *testing.T) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
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
