package icd

/*
#include "icd.h"
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// SummaryEnv names the environment variable that makes the library print
// the simulated GPU's summary when the host program exits: "1" (or
// "stderr") prints it on stderr, any other value is a file to write it to.
// Only a program that opened the device (asked for devices) has one.
const SummaryEnv = "SVMRT_SUMMARY"

// svmrt_go_exit_summary runs from the library's destructor as the process
// exits (dispatch.c): the host program has returned from main or called
// exit, and the Go runtime is still there to answer.
//
//export svmrt_go_exit_summary
func svmrt_go_exit_summary() {
	where := os.Getenv(SummaryEnv)
	if where == "" {
		return
	}
	// No lock: the process is exiting, and a thread it did not join may
	// hold one. theDevice was set before any API call that could have
	// launched anything returned.
	d := theDevice
	if d == nil {
		return
	}
	// A command still running (the program exited without clFinish) may
	// hold the device: wait for the counters a moment, not forever.
	text := make(chan string, 1)
	go func() { text <- summary(d) }()
	var s string
	select {
	case s = <-text:
	case <-time.After(2 * time.Second):
		s = "svmrt summary: the device is still busy (the program exited with commands running)\n"
	}
	var w io.Writer = os.Stderr
	if where != "1" && where != "stderr" {
		f, err := os.Create(where)
		if err != nil {
			fmt.Fprintf(os.Stderr, "svmrt ICD: %s: %v\n", SummaryEnv, err)
			return
		}
		defer f.Close()
		w = f
	}
	io.WriteString(w, s)
}

// summary is the device's counters as the sample prints them: what
// migrated which way, the faults that moved it, the simulated time.
func summary(d *device) string {
	st := d.dev.Stats()
	sim, _ := d.dev.SimStats()
	var b strings.Builder
	fmt.Fprintf(&b, "svmrt summary (%s)\n", d.dev.Name())
	row := func(name string, format string, args ...any) {
		fmt.Fprintf(&b, "  %-26s %s\n", name, fmt.Sprintf(format, args...))
	}
	row("launches", "%d", st.Launches)
	row("device faults", "%d", st.DeviceFaults)
	row("fault batches", "%d", st.FaultBatches)
	row("pages host→device", "%d (%d KiB)", st.PagesH2D, st.BytesH2D>>10)
	row("pages device→host", "%d (%d KiB)", st.PagesD2H, st.BytesD2H>>10)
	row("CPU faults", "%d", st.CPUFaults)
	row("evictions", "%d (%d pages)", st.Evictions, st.PagesEvicted)
	row("remote accesses", "%d", sim.RemoteAccesses)
	row("TLB hits / misses", "%d / %d", sim.TLBHits, sim.TLBMisses)
	row("simulated time", "%v", sim.SimulatedTime)
	row("host time (launches)", "%v", st.HostTime)
	return b.String()
}
