// Command mulmat is the seed's mul_mat_on_gpu, end to end: it allocates
// three ordinary Go slices, multiplies on a device with no buffers and no
// copies, checks the result against a CPU reference and prints what the
// address-space mirror did: device faults, fault batches, pages moved each
// way, CPU faults that brought pages home, simulated and host time. On a
// device that migrates nothing (cpu, opencl) it says so instead of printing
// zero counters.
//
//	go run ./samples/mulmat -m 256 -device simgpu -vram 64MiB -policy uvm
//
// -vram and -policy are the simulated GPU's: on any other device they are
// refused (exit status 2). `svmrt run mulmat` is the same program (package
// sample).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
)

func main() {
	m := flag.Int("m", sample.DefaultM, "matrix size (m×m float32)")
	device := flag.String("device", sample.DefaultDevice, "device: "+sample.Devices)
	vram := flag.String("vram", sample.DefaultVRAM, "simulated GPU memory, simgpu only: "+sample.SizeForms)
	policy := flag.String("policy", sample.DefaultPolicy, "simulated GPU memory policy, simgpu only: "+strings.Join(simgpu.PolicyNames(), ", "))
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mulmat: unexpected argument %q (the options are flags: -m, -device, -vram, -policy)\n", flag.Arg(0))
		os.Exit(2)
	}
	// An option not given is "": on cpu or opencl only an explicit -vram or
	// -policy is an error.
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["vram"] {
		*vram = ""
	}
	if !given["policy"] {
		*policy = ""
	}
	ctx, stop := sample.InterruptContext()
	err := runCtx(ctx, *m, *device, *vram, *policy)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mulmat:", err)
		if errors.Is(err, sample.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(m int, device, vram, policy string) error {
	return runCtx(context.Background(), m, device, vram, policy)
}

func runCtx(ctx context.Context, m int, device, vram, policy string) error {
	return sample.Run(ctx, sample.Config{M: m, Device: device, VRAM: vram, Policy: policy, Stdout: os.Stdout, Stderr: os.Stderr})
}
