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

	"github.com/svmrt/svmrt/samples/mulmat/sample"
)

func main() {
	config := sample.Flags(flag.CommandLine)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mulmat: unexpected argument %q (the options are flags: -m, -device, -vram, -policy)\n", flag.Arg(0))
		os.Exit(2)
	}
	c := config()
	ctx, stop := sample.InterruptContext()
	err := runCtx(ctx, c.M, c.Device, c.VRAM, c.Policy)
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
