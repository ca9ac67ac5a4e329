//go:build race

package conformance

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = true
