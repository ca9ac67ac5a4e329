package main

import (
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
	"github.com/svmrt/svmrt/viz"
)

// svmrt viz's usage and argument errors are the same in every build (with
// or without the OpenGL renderer): -h exits 0, mistakes exit 2 with the
// reason, before anything runs.
func TestVizUsageAndBadArgs(t *testing.T) {
	for _, args := range [][]string{{"viz", "-h"}, {"help", "viz"}, {"viz", "mulmat", "-h"}} {
		code, out, stderr := svmrtRun(args...)
		if code != 0 || !strings.HasPrefix(out, "usage: svmrt viz") || !strings.Contains(out, "-read-steps") ||
			!strings.Contains(out, "-policy") || !strings.Contains(out, "-tags viz") || stderr != "" {
			t.Errorf("svmrt %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"viz"}, "svmrt viz: which sample? (samples: mulmat)"},
		{[]string{"viz", "-o", "x.png", "saxpy"}, `svmrt viz: unknown sample "saxpy" (samples: mulmat)`},
		{[]string{"viz", "mulmat", "extra"}, `unexpected argument "extra"`},
		{[]string{"viz", "-o", "x.jpg", "mulmat"}, "-o x.jpg: the picture is a PNG"},
		{[]string{"viz", "-read-steps", "0", "mulmat"}, "-read-steps 0: want 1 to 1024"},
		{[]string{"viz", "mulmat", "-device", "cpu", "-policy", "uvm"}, "-policy uvm: only the simulated GPU"},
		{[]string{"viz", "mulmat", "-vram", "1MB"}, "decimal units are not accepted"},
	} {
		code, out, stderr := svmrtRun(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.err) || out != "" {
			t.Errorf("svmrt %s: exit %d, stderr %q, stdout %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, out, tc.err)
		}
	}
}

// What svmrt viz samples from the mulmat sample on the simulated GPU, no
// OpenGL needed: one column per step (allocated, a and b written, each
// wave, each part of reading r), a and b written by the host, everything
// on the device after the launch's last wave, and at the end r read back
// to the host while a and b stay on the device.
func TestVizCollectsTheRun(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	res, err := collect(sample.Config{M: 64, ReadSteps: 4})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, s := range res.Samples {
		labels = append(labels, s.Phase+": "+s.Label)
	}
	want := "host: allocated|host: a, b written|launch: wave 1/1|CPU reads r: 1/4|CPU reads r: 2/4|CPU reads r: 3/4|CPU reads r: 4/4"
	if got := strings.Join(labels, "|"); got != want {
		t.Fatalf("samples %s, want %s", got, want)
	}
	if got := rangeNames(res); got != "a 4, b 4, r 4" {
		t.Fatalf("ranges %s", got)
	}
	if len(res.Devices) != 1 || res.Devices[0].Name != "simgpu" {
		t.Fatalf("devices %+v", res.Devices)
	}
	dev := viz.Location{Kind: viz.OnDevice, Device: res.Devices[0].Slot}
	host := viz.Location{Kind: viz.Host}
	last := len(res.Samples) - 1
	for p := 0; p < 12; p++ {
		if p < 8 {
			if got := res.At(1, p); got != host {
				t.Errorf("page %d after a and b are written: %+v, want the host's", p, got)
			}
		}
		if got := res.At(2, p); got != dev {
			t.Errorf("page %d after the launch: %+v, want on the device", p, got)
		}
		want := dev
		if p >= 8 {
			want = host
		}
		if got := res.At(last, p); got != want {
			t.Errorf("page %d at the end: %+v, want %+v", p, got, want)
		}
	}
	if !strings.Contains(res.Title, "mulmat 64x64 on simgpu (policy demand, 256MiB device memory)") {
		t.Errorf("title %q", res.Title)
	}
}
