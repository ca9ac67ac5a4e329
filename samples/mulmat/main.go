// Command mulmat is the seed's mul_mat_on_gpu, end to end: it allocates
// three ordinary Go slices, multiplies on a device with no buffers and no
// copies, checks the result against a CPU reference and prints what the
// address-space mirror did: device faults, fault batches, pages moved each
// way, CPU faults that brought pages home, simulated and host time.
//
//	go run ./samples/mulmat -m 256 -device simgpu -vram 64MiB -policy uvm
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

func main() {
	m := flag.Int("m", 256, "matrix size (m×m float32)")
	device := flag.String("device", "simgpu", "device: cpu, simgpu, opencl or opencl:N (svmrt devices lists them)")
	vram := flag.String("vram", "256MiB", "simulated GPU memory (bytes, or with KiB/MiB/GiB)")
	policy := flag.String("policy", "demand", "simulated GPU memory policy: "+strings.Join(simgpu.PolicyNames(), ", "))
	flag.Parse()
	if err := run(*m, *device, *vram, *policy); err != nil {
		fmt.Fprintln(os.Stderr, "mulmat:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func run(m int, device, vramFlag, policyName string) error {
	vram, err := parseSize(vramFlag)
	if err != nil {
		return err
	}
	policy, err := simgpu.PolicyByName(policyName)
	if err != nil {
		return err
	}
	if m <= 0 {
		return fmt.Errorf("-m %d: must be positive", m)
	}
	// Long launches (large -m on the simulated GPU) report progress on
	// stderr every two seconds.
	lastReport := time.Now()
	progress := func(p svmrt.Progress) {
		if time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "  %s: wave %d/%d (%d%%), %d device faults, simulated %v, host %v\n",
				p.Kernel, p.Wave, p.Waves, 100*p.Wave/p.Waves, p.DeviceFaults, p.Simulated, p.Elapsed.Round(time.Second))
		}
	}
	dev, err := svmrt.Open(device, svmrt.WithVRAM(vram), svmrt.WithProgress(progress), svmrt.WithPolicy(policy))
	if err != nil {
		return err
	}
	defer dev.Close()
	fmt.Printf("device: %s — %s\n", dev.Name(), dev.Info().Description)
	if err := svmrt.Degraded(); err != nil {
		fmt.Println("note:", err)
	}

	// The seed's data: ordinary slices, no device buffers.
	a, b, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range a {
		a[i] = float32(i%17) / 8
		b[i] = float32(i%13) / 4
	}
	fmt.Printf("mulmat: %d×%d float32 on %s (%d KiB per matrix)\n", m, m, dev.Name(), m*m*4/1024)
	// The CPU reference first, while a and b are still on the host.
	ref := make([]float32, m*m)
	kernels.RefMulMat(ref, a, b, m)

	start := time.Now()
	if err := svmrt.MulMat(context.Background(), dev, r, a, b, m); err != nil {
		return err
	}
	launchTime := time.Since(start)
	afterLaunch := dev.Stats()

	// Where r lives now, without touching it.
	snap, err := svmrt.SnapshotSlice(dev, r)
	if err != nil {
		return err
	}
	onDevice := 0
	for _, p := range snap {
		if p.State == svm.PageOnDevice {
			onDevice++
		}
	}

	// Reading r on the CPU: real page faults bring it home.
	maxErr := 0.0
	for i := range r {
		maxErr = math.Max(maxErr, math.Abs(float64(r[i]-ref[i])))
	}
	st := dev.Stats()

	fmt.Printf("  r after launch: %d of %d pages resident on the device\n", onDevice, len(snap))
	fmt.Println("  summary")
	row := func(k string, v any) { fmt.Printf("    %-26s %v\n", k, v) }
	row("max error vs CPU reference", maxErr)
	if dev.Info().Caps.Faults {
		// A device that mirrors the page table: faults and migrations.
		row("device faults", st.DeviceFaults)
		row("fault batches", st.FaultBatches)
		row("pages host→device", fmt.Sprintf("%d (%d KiB)", st.PagesH2D, st.BytesH2D/1024))
		row("pages device→host", fmt.Sprintf("%d (%d KiB)", st.PagesD2H, st.BytesD2H/1024))
		row("CPU faults (reading r)", st.CPUFaults-afterLaunch.CPUFaults)
		row("remote accesses", st.RemoteAccesses)
		row("TLB hits / misses", fmt.Sprintf("%d / %d", st.TLBHits, st.TLBMisses))
		row("simulated time", st.SimulatedTime)
	} else {
		// The device uses host memory as it is (cpu, OpenCL pass-through)
		// or stages named ranges (OpenCL buffer mode): nothing migrates.
		row("launches", st.Launches)
		if st.BytesH2D > 0 || st.BytesD2H > 0 {
			row("bytes staged in / out", fmt.Sprintf("%d / %d KiB", st.BytesH2D/1024, st.BytesD2H/1024))
		}
	}
	row("host time (launch)", launchTime.Round(time.Millisecond))
	if maxErr > 1e-3*float64(m) {
		return fmt.Errorf("result wrong: max error %g", maxErr)
	}
	return nil
}
