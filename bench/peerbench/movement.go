package peerbench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/bench"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// The page-movement section (issue 13's goals): how fast pages move
// between host memory and a simulated GPU's memory, beside the copy that
// bounds it — copy() of resident memory, in the same run. Every figure is
// a median of -n runs; each run maps fresh memory, so nothing is warm that
// a real program would not have warm.
//
//   - bring-back: a buffer migrated to the device is read by the CPU with
//     copy(); every page takes a real userfaultfd fault (read-ahead brings
//     neighbours with it). Also with two goroutines reading halves.
//   - random faults: one byte read per device-resident page, in random
//     order, each read timed (median and p90 of all of them).
//   - migrate: Device.Migrate of the whole buffer host→device, with the Go
//     allocations it made per page.
//   - RSS: resident set after the buffer went to the device and came back,
//     over the buffer's size (device frames that hold nothing must not stay
//     resident).
type MovementConfig struct {
	Bytes    int // buffer size for bring-back and migrate
	RSSBytes int // buffer size for the RSS round trip
	Faults   int // pages in the random-fault test
	Runs     int
}

// Movement runs the page-movement section and prints it to w.
func Movement(w io.Writer, cfg MovementConfig) error {
	const page = 4096
	vram := int64(cfg.Bytes) + 64<<20
	dev, err := svmrt.Open("simgpu", svmrt.WithVRAM(vram))
	if err != nil {
		return fmt.Errorf("page movement needs the simulated GPU: %w", err)
	}
	defer dev.Close()
	if err := svmrt.Degraded(); err != nil {
		// Not a failure of the benchmark: nothing migrates here.
		fmt.Fprintf(w, "page movement: skipped, nothing migrates without userfaultfd: %v\n", err)
		return nil
	}
	fmt.Fprintf(w, "page movement: %d MiB buffers, %d random faults, RSS round trip of %d MiB, %d runs per figure (median)\n\n",
		cfg.Bytes>>20, cfg.Faults, cfg.RSSBytes>>20, cfg.Runs)

	var (
		copyGBs, backGBs, back2GBs, migGBs []float64
		faultMed, faultP90                 []float64
		allocsPerCall                      []float64
		pagesPerFault                      []float64
	)
	dst := mapAnon(cfg.Bytes)
	defer syscall.Munmap(dst)
	fill(dst)
	for range cfg.Runs {
		// Peer: copy() of resident memory (both sides present).
		src := mapAnon(cfg.Bytes)
		fill(src)
		copyGBs = append(copyGBs, gbs(cfg.Bytes, func() { copy(dst, src) }))

		// Host→device migration, and its Go allocations per page.
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		var moved int
		migGBs = append(migGBs, gbs(cfg.Bytes, func() {
			moved, err = dev.Migrate(unsafe.Pointer(&src[0]), uintptr(len(src)))
		}))
		goruntime.ReadMemStats(&after)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if moved != cfg.Bytes/page {
			return fmt.Errorf("migrate moved %d of %d pages", moved, cfg.Bytes/page)
		}
		allocsPerCall = append(allocsPerCall, float64(after.Mallocs-before.Mallocs))

		// Sequential bring-back by one reader.
		faults0 := dev.Stats().CPUFaults
		backGBs = append(backGBs, gbs(cfg.Bytes, func() { copy(dst, src) }))
		pagesPerFault = append(pagesPerFault, float64(cfg.Bytes/page)/float64(max(1, dev.Stats().CPUFaults-faults0)))
		if err := checkFilled(dst); err != nil {
			return err
		}

		// Two readers, a half each.
		if _, err := dev.Migrate(unsafe.Pointer(&src[0]), uintptr(len(src))); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		back2GBs = append(back2GBs, gbs(cfg.Bytes, func() {
			var wg sync.WaitGroup
			half := len(src) / 2
			for _, r := range [][2]int{{0, half}, {half, len(src)}} {
				wg.Go(func() { copy(dst[r[0]:r[1]], src[r[0]:r[1]]) })
			}
			wg.Wait()
		}))
		if err := checkFilled(dst); err != nil {
			return err
		}
		syscall.Munmap(src)

		// Random-order faults, each timed.
		fb := mapAnon(cfg.Faults * page)
		fill(fb)
		if _, err := dev.Migrate(unsafe.Pointer(&fb[0]), uintptr(len(fb))); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		order := rand.Perm(cfg.Faults)
		lat := make([]float64, len(order))
		for i, p := range order {
			t := time.Now()
			sink += fb[p*page]
			lat[i] = float64(time.Since(t).Nanoseconds()) / 1e3
		}
		slices.Sort(lat)
		faultMed = append(faultMed, lat[len(lat)/2])
		faultP90 = append(faultP90, lat[len(lat)*9/10])
		syscall.Munmap(fb)
	}

	rssRatio, err := rssRoundTrip(cfg.RSSBytes)
	if err != nil {
		return err
	}

	copyMed := bench.Median(copyGBs)
	fmt.Fprintf(w, "%-34s %12s %12s %9s  %s\n", "", "svmrt", "copy()", "ratio", "goal")
	row := func(name string, v float64, goal string) {
		fmt.Fprintf(w, "%-34s %9.2f GB/s %7.2f GB/s %8.2f×  %s\n", name, v, copyMed, v/copyMed, goal)
	}
	row("sequential bring-back, 1 reader", bench.Median(backGBs), "≥ 0.5×")
	fmt.Fprintf(w, "%-34s %9.1f pages per CPU fault (read-ahead)\n", "", bench.Median(pagesPerFault))
	row("sequential bring-back, 2 readers", bench.Median(back2GBs), "≥ 0.5×")
	row("host→device Migrate", bench.Median(migGBs), "≥ 0.5×")
	fmt.Fprintf(w, "%-34s %9.0f per call of %d pages (%.4f per page)   goal 0 per page\n", "host→device Migrate allocations",
		bench.Median(allocsPerCall), cfg.Bytes/page, bench.Median(allocsPerCall)/float64(cfg.Bytes/page))
	fmt.Fprintf(w, "%-34s median %.1f µs, p90 %.1f µs             goal ≤ 6 µs, ≤ 15 µs\n", "random-order CPU faults", bench.Median(faultMed), bench.Median(faultP90))
	fmt.Fprintf(w, "%-34s %9.2f× the data                        goal ≤ 1.1×\n", "RSS after device round trip", rssRatio)
	return nil
}

// rssRoundTrip maps and fills n bytes, sends them to a device of its own
// (whose memory nothing has touched yet) and reads them back in order, and
// returns the growth of the resident set over n.
func rssRoundTrip(n int) (float64, error) {
	dev, err := svmrt.Open("simgpu", svmrt.WithVRAM(int64(n)+64<<20))
	if err != nil {
		return 0, err
	}
	defer dev.Close()
	goruntime.GC()
	base, err := rss()
	if err != nil {
		return 0, err
	}
	b := mapAnon(n)
	defer syscall.Munmap(b)
	fill(b)
	if _, err := dev.Migrate(unsafe.Pointer(&b[0]), uintptr(n)); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := checkFilled(b); err != nil { // brings every page home
		return 0, err
	}
	goruntime.GC()
	after, err := rss()
	if err != nil {
		return 0, err
	}
	return float64(after-base) / float64(n), nil
}

// rss is the process's resident set in bytes (VmRSS).
func rss() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(status) {
		if f, ok := strings.CutPrefix(string(line), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(f), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}

func mapAnon(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintf(os.Stderr, "svmrt-bench: mmap %d bytes: %v\n", n, err)
		os.Exit(1)
	}
	return b
}

// fill writes every 8-byte word with its index, so a lost or misplaced
// page shows in checkFilled.
func fill(b []byte) {
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	for i := range w {
		w[i] = uint64(i)
	}
}

func checkFilled(b []byte) error {
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	for i, v := range w {
		if v != uint64(i) {
			return fmt.Errorf("word %d (address %#x) is %d after the round trip, want %d", i, uintptr(unsafe.Pointer(&w[i])), v, i)
		}
	}
	return nil
}

// sink keeps the random-fault reads from being optimised away.
var sink byte

func gbs(n int, f func()) float64 {
	t := time.Now()
	f()
	return float64(n) / time.Since(t).Seconds() / 1e9
}

// DefaultMovement is the full page-movement section: 256 MiB buffers,
// 4096 random faults, a 1 GiB RSS round trip, runs timed runs each.
func DefaultMovement(runs int) MovementConfig {
	return MovementConfig{Bytes: 256 << 20, RSSBytes: 1 << 30, Faults: 4096, Runs: runs}
}

// SmallMovement is the smoke-run size (CI): 16 MiB buffers.
func SmallMovement(runs int) MovementConfig {
	return MovementConfig{Bytes: 16 << 20, RSSBytes: 64 << 20, Faults: 512, Runs: runs}
}
