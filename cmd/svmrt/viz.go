package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strings"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
	"github.com/svmrt/svmrt/viz"
	"github.com/svmrt/svmrt/viz/vizgl"
)

// vizCmd runs a sample as `svmrt run` does, sampling where its matrices'
// pages are at each step (package sample's Observer: allocated, inputs
// written, after each wave of the launch, and as the CPU reads r back in
// -read-steps parts), and draws the residency picture into a PNG (package
// viz, drawn by viz/vizgl: OpenGL through EGL, headless).
//
// Drawing needs a build with -tags viz; without it the command says so
// (exit status 1) after checking its arguments, so that its usage and
// errors are the same in every build.
func vizCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("viz", flag.ContinueOnError)
	config := sample.Flags(fs)
	out := fs.String("o", "residency.png", "the PNG to write")
	readSteps := fs.Int("read-steps", 8, "samples taken while the CPU reads the result back")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: svmrt viz [-o FILE.png] [-read-steps N] [run's flags] SAMPLE

Runs a sample (samples: %s) as svmrt run does and draws where its arrays' pages are over the run:
a PNG heat map, one column per sample (the matrices allocated, a and b written, after each wave of
the launch on the simulated GPU, then as the CPU reads r back), one row per page, coloured by
location (host, device, read-duplicated, in transit). Drawn with OpenGL headless (EGL surfaceless,
Mesa): this needs a build with -tags viz (go run -tags viz ./cmd/svmrt viz ...).

flags:
`, strings.Join(samples, ", "))
		fs.PrintDefaults()
	}
	if _, code, ok := sampleName(fs, args, stdout, stderr); !ok {
		return code
	}
	if *readSteps < 1 || *readSteps > 1024 {
		fmt.Fprintf(stderr, "svmrt viz: -read-steps %d: want 1 to 1024\n", *readSteps)
		return 2
	}
	if !strings.HasSuffix(strings.ToLower(*out), ".png") {
		fmt.Fprintf(stderr, "svmrt viz: -o %s: the picture is a PNG: name it FILE.png\n", *out)
		return 2
	}
	c := config()
	c.ReadSteps = *readSteps
	if err := sample.Check(c); err != nil {
		fmt.Fprintln(stderr, "svmrt viz:", err)
		return 2
	}
	if !vizgl.Available {
		fmt.Fprintln(stderr, "svmrt viz: this svmrt was built without the OpenGL renderer: build it with -tags viz (cgo, with libEGL and Mesa, which scripts/setup.sh installs), e.g. go run -tags viz ./cmd/svmrt viz -o residency.png mulmat")
		return 1
	}
	c.Stdout, c.Stderr, c.ProgressEvery = stdout, stderr, progressEvery
	res, err := collect(c)
	if err != nil {
		fmt.Fprintln(stderr, "svmrt viz:", err)
		if errors.Is(err, sample.ErrUsage) {
			return 2
		}
		return 1
	}
	img, renderer, err := vizgl.Render(res)
	if err != nil {
		fmt.Fprintln(stderr, "svmrt viz:", err)
		return 1
	}
	if err := writePNG(*out, img); err != nil {
		fmt.Fprintln(stderr, "svmrt viz:", err)
		return 1
	}
	fmt.Fprintf(stdout, "residency: %d samples of %d pages (%s) in %s, %dx%d, drawn by %s\n",
		len(res.Samples), res.Pages(), rangeNames(res), *out, img.Bounds().Dx(), img.Bounds().Dy(), renderer)
	return 0
}

// sampleName parses a command's flags before and after the sample's name
// and returns the name: "which sample?", an unknown sample and a second
// name are usage errors.
func sampleName(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (string, int, bool) {
	var names []string
	for {
		if code, ok := parseArgs(fs, args, stdout, stderr); !ok {
			return "", code, false
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	cmd := "svmrt " + fs.Name()
	switch {
	case len(names) == 0:
		fmt.Fprintf(stderr, "%s: which sample? (samples: %s)\n", cmd, strings.Join(samples, ", "))
	case names[0] != "mulmat":
		fmt.Fprintf(stderr, "%s: unknown sample %q (samples: %s)\n", cmd, names[0], strings.Join(samples, ", "))
	case len(names) > 1:
		fmt.Fprintf(stderr, "%s: unexpected argument %q: one sample at a time\n", cmd, names[1])
	default:
		return names[0], 0, true
	}
	return "", 2, false
}

// residencyObserver samples a, b and r at each of the sample's steps.
type residencyObserver struct {
	title string
	s     *viz.Sampler
}

func (o *residencyObserver) Start(dev *svmrt.Device, a, b, r []float32) error {
	o.s = viz.NewSampler(dev, o.title)
	for _, m := range []struct {
		name string
		data []float32
	}{{"a", a}, {"b", b}, {"r", r}} {
		if err := viz.TrackSlice(o.s, m.name, m.data); err != nil {
			return err
		}
	}
	return nil
}

func (o *residencyObserver) Step(phase, label string) error { return o.s.Sample(phase, label) }

// collect runs the sample with c, sampling its matrices at every step.
func collect(c sample.Config) (*viz.Residency, error) {
	title := fmt.Sprintf("mulmat %dx%d on %s", c.M, c.M, c.Device)
	if c.Device == "" {
		title = fmt.Sprintf("mulmat %dx%d on %s", c.M, c.M, sample.DefaultDevice)
	}
	if c.Device == "" || strings.HasPrefix(c.Device, "simgpu") {
		title += fmt.Sprintf(" (policy %s, %s device memory)", or(c.Policy, sample.DefaultPolicy), or(c.VRAM, sample.DefaultVRAM))
	}
	o := &residencyObserver{title: title + ": where the pages of a, b and r are"}
	c.Observe = o
	ctx, stop := sample.InterruptContext()
	defer stop()
	if err := sample.Run(ctx, c); err != nil {
		return nil, err
	}
	return o.s.Residency(), nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func rangeNames(r *viz.Residency) string {
	var n []string
	for _, g := range r.Ranges {
		n = append(n, fmt.Sprintf("%s %d", g.Name, g.Pages))
	}
	return strings.Join(n, ", ")
}

// writePNG writes img to path, removing a half-written file on error.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = png.Encode(f, img)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
