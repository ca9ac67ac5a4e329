package conformance

import (
	"bytes"
	"unsafe"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// The SVM memory commands: memcpy, memfill, map/unmap, migrate.
var memTests = []Test{
	{Name: "hmm/range-request-faults-once", Doc: "a device read and write of fresh private anonymous ranges costs one fault per request, not one per page, and copies the pages", Run: rangeRequestFaultsOnce},
	{Name: "svm/memcpy", Doc: "the device copies between host pointers; overlapping regions are ErrInvalidValue; bad addresses ErrDeviceFault", Run: memcpyTest},
	{Name: "svm/memfill", Doc: "the device fills with 1..128-byte power-of-two patterns; other patterns, sizes and alignments are ErrInvalidValue", Run: memfillTest},
	{Name: "svm/map-unmap", Doc: "map brings device-resident memory home so host access takes no fault; unmap ends it", Run: mapUnmapTest},
	{Name: "svm/migrate-mem", Doc: "migrate-mem moves a range to the device and back, keeping its data", Run: migrateMemTest},
	{Name: "hmm/exclusive-access", Doc: "a device's exclusive (atomic) access runs its atomics locally; a CPU touch revokes it with every update kept", Run: exclusiveAccess},
}

func exclusiveAccess(c *C) {
	c.RequireMigration()
	dev := c.Dev()
	mem := mmapAnon(c, 1)
	words := u32s(mem)[:16]
	ev, err := dev.MakeExclusive(c.Ctx, unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	wait(c, ev, err, "make exclusive")
	expectAll(c, dev, mem, svm.PageOnDevice, "after make-exclusive")
	expectExclusive(c, dev, mem, true, "after make-exclusive")
	before := counters(dev)
	const n = 8192
	c.Check(run(c, dev, atomicInc, range1(n), words, int32(len(words)), int32(n)), "atomics")
	after := counters(dev)
	if after.RemoteAccesses != before.RemoteAccesses || after.DeviceFaults != before.DeviceFaults {
		c.Errorf("atomics on exclusive pages were not local: %d remote accesses, %d faults",
			after.RemoteAccesses-before.RemoteAccesses, after.DeviceFaults-before.DeviceFaults)
	}
	expectAll(c, dev, mem, svm.PageOnDevice, "after the atomics")
	// A CPU touch revokes the exclusive access, keeping every update.
	if words[0] != n/16 {
		c.Fatalf("word 0 = %d after %d device atomics, want %d", words[0], n, n/16)
	}
	expectAll(c, dev, mem, svm.PageWritable, "after the CPU touch")
	expectExclusive(c, dev, mem, false, "after the CPU touch")
	// The device's next atomics fault the page back and keep counting.
	c.Check(run(c, dev, atomicInc, range1(n), words, int32(len(words)), int32(n)), "atomics after revocation")
	for i, w := range words {
		if w != 2*n/16 {
			c.Fatalf("word %d = %d, want %d", i, w, 2*n/16)
		}
	}
}

func wait(c *C, ev *svmrt.Event, err error, what string) {
	c.Check(err, what)
	c.Check(ev.Wait(c.Ctx), what)
}

func rangeRequestFaultsOnce(c *C) {
	c.RequireFaults()
	dev := c.Dev()
	src, dst := mmapAnon(c, 16), mmapAnon(c, 16)
	fill(src, 5)
	before := dev.Stats()
	ev, err := dev.Memcpy(c.Ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(src)))
	wait(c, ev, err, "memcpy")
	after := dev.Stats()
	if got := after.DeviceFaults - before.DeviceFaults; got != 2 {
		c.Errorf("device faults %d for two fresh 16-page ranges, want 2 (one per request)", got)
	}
	if got := after.FaultBatches - before.FaultBatches; got != 2 {
		c.Errorf("fault batches %d, want 2", got)
	}
	if migratesOnFault(dev) {
		if got := after.PagesH2D - before.PagesH2D; got != 32 {
			c.Errorf("pages copied to the device %d, want 32", got)
		}
	}
	// Warm (before the CPU reads dst, which would bring it home): the same
	// request again takes no fault.
	ev, err = dev.Memcpy(c.Ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(src)))
	wait(c, ev, err, "memcpy again")
	if got := dev.Stats().DeviceFaults - after.DeviceFaults; got != 0 && migratesOnFault(dev) {
		c.Errorf("device faults %d on resident ranges, want 0", got)
	}
	checkFill(c, dst, 5, "copied data")
}

func memcpyTest(c *C) {
	dev := c.Dev()
	src := make([]byte, 3*pageSize+123)
	dst := make([]byte, len(src))
	for i := range src {
		src[i] = byte(i % 251)
	}
	// Odd offsets and length: byte-exact.
	ev, err := dev.Memcpy(c.Ctx, unsafe.Pointer(&dst[3]), unsafe.Pointer(&src[5]), uintptr(len(src)-10))
	wait(c, ev, err, "memcpy")
	if !bytes.Equal(dst[3:len(src)-7], src[5:len(src)-5]) || dst[0] != 0 || dst[len(dst)-1] != 0 {
		c.Fatalf("memcpy copied the wrong bytes")
	}
	// Overlap: refused before anything is queued.
	if _, err := dev.Memcpy(c.Ctx, unsafe.Pointer(&src[100]), unsafe.Pointer(&src[0]), 200); !errorsIs(err, svmrt.ErrInvalidValue) {
		c.Fatalf("overlapping memcpy: %v, want ErrInvalidValue", err)
	}
	// A PROT_NONE source: the copy fails naming the address, at once (the
	// range is checked before it is queued) or when it runs; dst intact.
	bad := mmapAnon(c, 1)
	c.Check(mprotect(bad, 0), "mprotect")
	for i := range dst {
		dst[i] = 7
	}
	ev, err = dev.Memcpy(c.Ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&bad[0]), pageSize)
	if err == nil {
		err = ev.Wait(c.Ctx)
	}
	expectFault(c, err, svmrt.ErrDeviceFault, addr(bad), addr(bad)+pageSize, "memcpy from PROT_NONE")
	for i := range dst {
		if dst[i] != 7 {
			c.Fatalf("dst changed at %d by a failed copy", i)
		}
	}
}

func memfillTest(c *C) {
	dev := c.Dev()
	buf := make([]byte, 3*pageSize+64)
	base := (addr(buf) + 127) &^ 127 // 128-byte aligned
	off := int(base - addr(buf))
	region := buf[off : off+3*pageSize]
	for _, size := range []int{1, 2, 4, 8, 16, 32, 64, 128} {
		pat := make([]byte, size)
		for i := range pat {
			pat[i] = byte(size + i)
		}
		ev, err := dev.Memfill(c.Ctx, unsafe.Pointer(&region[0]), pat, uintptr(len(region)))
		wait(c, ev, err, "memfill")
		for i, v := range region {
			if v != pat[i%size] {
				c.Fatalf("pattern %d: byte %d = %d, want %d", size, i, v, pat[i%size])
			}
		}
	}
	for _, bad := range []struct {
		what  string
		p     []byte
		start int
		n     int
	}{
		{"3-byte pattern", []byte{1, 2, 3}, 0, 3 * 64},
		{"256-byte pattern", make([]byte, 256), 0, 1024},
		{"empty pattern", nil, 0, 64},
		{"size not a multiple", []byte{1, 2, 3, 4}, 0, 10},
		{"misaligned start", []byte{1, 2, 3, 4}, 2, 16},
	} {
		if _, err := dev.Memfill(c.Ctx, unsafe.Pointer(&region[bad.start]), bad.p, uintptr(bad.n)); !errorsIs(err, svmrt.ErrInvalidValue) {
			c.Fatalf("%s: %v, want ErrInvalidValue", bad.what, err)
		}
	}
}

func mapUnmapTest(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 8)
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(2), int32(len(w))), "launch")
	ev, err := dev.Map(c.Ctx, unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	wait(c, ev, err, "map")
	for i, s := range states(c, dev, mem) {
		if s == svm.PageOnDevice {
			c.Fatalf("page %d still on the device after map", i)
		}
	}
	before := dev.Stats().CPUFaults
	for i := range w {
		if w[i] != 2 {
			c.Fatalf("word %d = %d", i, w[i])
		}
	}
	if got := dev.Stats().CPUFaults - before; got != 0 {
		c.Errorf("host access after map took %d CPU faults, want 0", got)
	}
	ev, err = dev.Unmap(c.Ctx, unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	wait(c, ev, err, "unmap")
}

func migrateMemTest(c *C) {
	c.RequireMigration()
	dev := c.Dev()
	mem := mmapAnon(c, 8)
	fill(mem, 6)
	ev, err := dev.MigrateMem(c.Ctx, unsafe.Pointer(&mem[0]), uintptr(len(mem)), false)
	wait(c, ev, err, "migrate to device")
	expectAll(c, dev, mem, svm.PageOnDevice, "after migrate to device")
	ev, err = dev.MigrateMem(c.Ctx, unsafe.Pointer(&mem[0]), uintptr(len(mem)), true)
	wait(c, ev, err, "migrate to host")
	expectAll(c, dev, mem, svm.PageWritable, "after migrate to host")
	checkFill(c, mem, 6, "after migrate-mem round trip")
}
