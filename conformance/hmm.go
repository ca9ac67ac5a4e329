package conformance

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// HMM behaviours: a mirror device reading and writing process memory
// through its own page table.
var hmmTests = []Test{
	{Name: "hmm/private-anon-read-write", Doc: "a device reads and writes private anonymous memory; pages migrate and faults are counted", Run: privateAnonReadWrite},
	{Name: "hmm/read-only", Doc: "read-only memory is readable; a device write fails with ErrPermission; after mprotect(RW) it succeeds", Run: readOnly},
	{Name: "hmm/prot-none-and-holes", Doc: "PROT_NONE memory and holes fail with ErrDeviceFault naming the address; data intact", Run: protNoneAndHoles},
	{Name: "hmm/file-backed-shared", Doc: "device writes to a shared file mapping are visible through the mapping and the file", Run: fileBacked},
	{Name: "hmm/shared-anon-mirrored", Doc: "shared anonymous memory is mirrored, never migrated; explicit migration says so", Run: sharedAnon},
	{Name: "hmm/explicit-migration", Doc: "explicit migration to the device and back keeps the data", Run: explicitMigration},
	{Name: "hmm/partial-fault-back", Doc: "a range partly faulted back by the CPU migrates home in full", Run: partialFaultBack},
	{Name: "hmm/release-keeps-data", Doc: "a device releasing its memory leaves the data intact on the CPU", Run: releaseKeepsData},
	{Name: "hmm/repeated-cycles", Doc: "repeated migrate / CPU fault-back cycles lose nothing", Run: repeatedCycles},
	{Name: "hmm/snapshot-states", Doc: "every snapshot state, produced deliberately, reported without faulting anything in", Run: snapshotStates},
	{Name: "hmm/two-devices", Doc: "a page resident on device A that device B touches moves to B with its data", Run: twoDevices},
	{Name: "hmm/munmap", Doc: "munmap of device-resident memory drops it; a later launch fails with ErrDeviceFault", Run: munmapOnDevice},
	{Name: "hmm/partial-munmap", Doc: "munmap of part of a device-resident range leaves the rest intact", Run: partialMunmap},
	{Name: "hmm/mremap", Doc: "mremap of device-resident memory keeps the data at the new address", Run: mremapOnDevice},
	{Name: "hmm/mprotect-on-device", Doc: "mprotect(READ) of device-resident memory makes device writes fail; reads see the data", Run: mprotectOnDevice},
	{Name: "hmm/fork", Doc: "after fork, parent and child each see their own data, including device-resident pages", Run: forkOnDevice},
}

func fill(b []byte, seed byte) {
	for i := range b {
		b[i] = byte(i*7) + seed
	}
}

func checkFill(c *C, b []byte, seed byte, what string) {
	for i := range b {
		if b[i] != byte(i*7)+seed {
			c.Fatalf("%s: byte %d = %d, want %d", what, i, b[i], byte(i*7)+seed)
		}
	}
}

func privateAnonReadWrite(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 16)
	w := u32s(mem)
	for i := range w {
		w[i] = uint32(i)
	}
	before := dev.Stats()
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(5), int32(len(w))), "launch")
	after := dev.Stats()
	info := dev.Info()
	if info.Caps.Faults && after.DeviceFaults == before.DeviceFaults {
		c.Errorf("no device fault counted")
	}
	if migratesOnFault(dev) {
		if got := after.PagesH2D - before.PagesH2D; got < 16 {
			c.Errorf("%d pages migrated, want 16", got)
		}
		expectAll(c, dev, mem, svm.PageOnDevice, "after the launch")
	}
	for i := range w {
		if w[i] != uint32(i)+5 {
			c.Fatalf("word %d = %d, want %d", i, w[i], i+5)
		}
	}
}

func readOnly(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 4)
	w := u32s(mem)
	for i := range w {
		w[i] = uint32(i * 3)
	}
	c.Check(syscall.Mprotect(mem, syscall.PROT_READ), "mprotect")
	out := make([]uint32, len(w))
	c.Check(run(c, dev, copyU32, range1(len(w)), out, w, int32(len(w))), "device read of read-only memory")
	for i := range out {
		if out[i] != uint32(i*3) {
			c.Fatalf("read %d = %d", i, out[i])
		}
	}
	err := run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w)))
	expectFault(c, err, svmrt.ErrPermission, addr(mem), addr(mem)+uintptr(len(mem)), "device write to read-only memory")
	for i := range w {
		if w[i] != uint32(i*3) {
			c.Fatalf("host data changed at %d", i)
		}
	}
	c.Check(syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_WRITE), "mprotect")
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w))), "write after mprotect(RW)")
	for i := range w {
		if w[i] != uint32(i*3)+1 {
			c.Fatalf("after mprotect(RW): word %d = %d", i, w[i])
		}
	}
}

func protNoneAndHoles(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 4)
	w := u32s(mem)
	for i := range w {
		w[i] = 9
	}
	c.Check(syscall.Mprotect(mem[pageSize:2*pageSize], syscall.PROT_NONE), "mprotect")
	err := run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w)))
	expectFault(c, err, svmrt.ErrDeviceFault, addr(mem)+pageSize, addr(mem)+2*pageSize, "PROT_NONE page")
	// A hole: unmap page 3.
	_, _, e := syscall.Syscall(syscall.SYS_MUNMAP, addr(mem)+3*pageSize, pageSize, 0)
	if e != 0 {
		c.Fatalf("munmap: %v", e)
	}
	c.unmapped(addr(mem)+3*pageSize, pageSize)
	c.Check(syscall.Mprotect(mem[pageSize:2*pageSize], syscall.PROT_READ|syscall.PROT_WRITE), "mprotect")
	err = run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w)))
	expectFault(c, err, svmrt.ErrDeviceFault, addr(mem)+3*pageSize, addr(mem)+4*pageSize, "hole")
	// Nothing the failed launches did is visible... except what a device
	// wrote before the fault, which OpenCL leaves undefined: check the pages
	// around the bad ones hold either value, and the data beyond is sane.
	for i := pageSize / 4; i < 2*pageSize/4; i++ {
		if w[i] != 9 && w[i] != 10 && w[i] != 11 {
			c.Fatalf("word %d = %d after failed launches", i, w[i])
		}
	}
}

func fileBacked(c *C) {
	dev := c.Dev()
	f, err := os.CreateTemp("", "svmrt-conform")
	c.Check(err, "temp file")
	c.Cleanup(func() { f.Close(); os.Remove(f.Name()) })
	c.Check(f.Truncate(4*pageSize), "truncate")
	mem, err := syscall.Mmap(int(f.Fd()), 0, 4*pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	c.Check(err, "mmap file")
	c.Cleanup(func() { syscall.Munmap(mem) })
	w := u32s(mem)
	for i := range w {
		w[i] = uint32(i)
	}
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(100), int32(len(w))), "launch")
	for i := range w {
		if w[i] != uint32(i)+100 {
			c.Fatalf("through the mapping: word %d = %d", i, w[i])
		}
	}
	buf := make([]byte, 4*pageSize)
	_, err = f.ReadAt(buf, 0)
	c.Check(err, "read file")
	fw := u32s(buf)
	for i := range fw {
		if fw[i] != uint32(i)+100 {
			c.Fatalf("through the file: word %d = %d", i, fw[i])
		}
	}
	for i, s := range states(c, dev, mem) {
		if s == svm.PageOnDevice {
			c.Fatalf("file page %d migrated to the device", i)
		}
	}
}

func sharedAnon(c *C) {
	dev := c.Dev()
	mem := mmapFlags(c, 4, syscall.MAP_SHARED|syscall.MAP_ANON)
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(7), int32(len(w))), "launch")
	for i := range w {
		if w[i] != 7 {
			c.Fatalf("word %d = %d", i, w[i])
		}
	}
	for i, s := range states(c, dev, mem) {
		if s == svm.PageOnDevice {
			c.Fatalf("shared page %d migrated to the device", i)
		}
	}
	c.RequireMigration()
	_, err := dev.Migrate(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	if err == nil || !errorsIs(err, svmrt.ErrNotSupported) {
		c.Fatalf("explicit migration of shared memory: %v, want ErrNotSupported", err)
	}
}

func explicitMigration(c *C) {
	c.RequireMigration()
	dev := c.Dev()
	mem := mmapAnon(c, 8)
	fill(mem, 1)
	moved, err := dev.Migrate(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	c.Check(err, "migrate to device")
	if moved != len(mem)/pageSize {
		c.Errorf("migrate to device moved %d pages, want %d", moved, len(mem)/pageSize)
	}
	expectAll(c, dev, mem, svm.PageOnDevice, "after migrate")
	n, err := svmrt.MigrateToHost(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	c.Check(err, "migrate to host")
	if n != 8 {
		c.Errorf("migrated %d pages home, want 8", n)
	}
	expectAll(c, dev, mem, svm.PageWritable, "after migrate home")
	checkFill(c, mem, 1, "after the round trip")
}

func partialFaultBack(c *C) {
	c.RequireMigration()
	dev := c.Dev()
	mem := mmapAnon(c, 16)
	fill(mem, 2)
	c.Check(migrateErr(dev, unsafe.Pointer(&mem[0]), uintptr(len(mem))), "migrate")
	sink += mem[3*pageSize] + mem[9*pageSize+100] // CPU faults pages 3 and 9 home
	st := states(c, dev, mem)
	if st[3] == svm.PageOnDevice || st[9] == svm.PageOnDevice || st[5] != svm.PageOnDevice {
		c.Fatalf("after touching pages 3 and 9: %v", st)
	}
	_, err := svmrt.MigrateToHost(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	c.Check(err, "migrate home")
	expectAll(c, dev, mem, svm.PageWritable, "after migrate home")
	checkFill(c, mem, 2, "partly faulted range")
}

var sink byte

func releaseKeepsData(c *C) {
	c.RequireMigration()
	other := c.OpenAnother()
	mem := mmapAnon(c, 8)
	fill(mem, 3)
	c.Check(migrateErr(other, unsafe.Pointer(&mem[0]), uintptr(len(mem))), "migrate")
	c.Check(other.Close(), "close (release device memory)")
	expectAll(c, c.Dev(), mem, svm.PageWritable, "after release")
	checkFill(c, mem, 3, "after release")
}

func repeatedCycles(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 8)
	w := u32s(mem)
	for round := 1; round <= 20; round++ {
		c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w))), "launch")
		for i := 0; i < len(w); i += 97 {
			w[i] += 2 // CPU faults pages home between launches
		}
	}
	for i := range w {
		want := uint32(20)
		if i%97 == 0 {
			want = 60
		}
		if w[i] != want {
			c.Fatalf("word %d = %d, want %d", i, w[i], want)
		}
	}
}

func snapshotStates(c *C) {
	c.RequireMigration()
	dev := c.Dev()
	other := c.OpenAnother()
	mem := mmapAnon(c, 8)
	sink += mem[1*pageSize] // 1: zero page (read of an untouched page)
	mem[2*pageSize] = 1     // 2: writable
	mem[3*pageSize] = 1     // 3: read-only (below)
	mem[4*pageSize] = 4     // 4: on this device
	mem[5*pageSize] = 5     // 5: on the other device
	c.Check(migrateErr(dev, unsafe.Pointer(&mem[4*pageSize]), pageSize), "migrate to dev")
	c.Check(migrateErr(other, unsafe.Pointer(&mem[5*pageSize]), pageSize), "migrate to other")
	c.Check(syscall.Mprotect(mem[3*pageSize:4*pageSize], syscall.PROT_READ), "mprotect")
	c.Check(syscall.Mprotect(mem[6*pageSize:7*pageSize], syscall.PROT_NONE), "mprotect") // 6: no access
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, addr(mem)+7*pageSize, pageSize, 0); e != 0 {
		c.Fatalf("munmap: %v", e) // 7: unmapped
	}
	c.unmapped(addr(mem)+7*pageSize, pageSize)
	want := []svm.PageState{svm.PageNotPresent, svm.PageZero, svm.PageWritable, svm.PageReadOnly,
		svm.PageOnDevice, svm.PageOnOtherDevice, svm.PageNoAccess, svm.PageNoAccess}
	got := states(c, dev, mem)
	for i := range want {
		if got[i] != want[i] && !(want[i] == svm.PageZero && got[i] == svm.PageReadOnly) {
			c.Errorf("page %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Taking the snapshot faulted nothing in.
	again := states(c, dev, mem)
	if again[4] != svm.PageOnDevice || again[5] != svm.PageOnOtherDevice || again[0] != svm.PageNotPresent {
		c.Fatalf("snapshot changed the pages: %v", again)
	}
	c.Check(syscall.Mprotect(mem[:7*pageSize], syscall.PROT_READ|syscall.PROT_WRITE), "mprotect")
	if mem[4*pageSize] != 4 || mem[5*pageSize] != 5 {
		c.Fatalf("data lost: %d %d", mem[4*pageSize], mem[5*pageSize])
	}
}

func twoDevices(c *C) {
	a := c.Dev()
	b := c.OpenAnother()
	mem := mmapAnon(c, 4)
	w := u32s(mem)
	c.Check(run(c, a, addU32, range1(len(w)), w, uint32(1), int32(len(w))), "launch on A")
	c.Check(run(c, b, addU32, range1(len(w)), w, uint32(10), int32(len(w))), "launch on B")
	if migratesOnFault(a) {
		expectAll(c, b, mem, svm.PageOnDevice, "after B touched A's pages")
	}
	for i := range w {
		if w[i] != 11 {
			c.Fatalf("word %d = %d, want 11", i, w[i])
		}
	}
}

func munmapOnDevice(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 4)
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w))), "launch")
	base := addr(mem)
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, base, uintptr(len(mem)), 0); e != 0 {
		c.Fatalf("munmap: %v", e)
	}
	c.unmapped(base, uintptr(len(mem)))
	err := run(c, dev, addU32, range1(len(w)), base, uint32(1), int32(len(w)))
	expectFault(c, err, svmrt.ErrDeviceFault, base, base+uintptr(len(mem)), "launch on unmapped memory")
}

func partialMunmap(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 6)
	w := u32s(mem)
	for i := range w {
		w[i] = uint32(i)
	}
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w))), "launch")
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, addr(mem)+2*pageSize, 2*pageSize, 0); e != 0 {
		c.Fatalf("munmap: %v", e)
	}
	c.unmapped(addr(mem)+2*pageSize, 2*pageSize)
	for _, r := range [][2]int{{0, 2}, {4, 6}} {
		part := mem[r[0]*pageSize : r[1]*pageSize]
		pw := u32s(part)
		c.Check(run(c, dev, addU32, range1(len(pw)), pw, uint32(1), int32(len(pw))), "launch on the rest")
		for i := range pw {
			if want := uint32(r[0]*pageSize/4+i) + 2; pw[i] != want {
				c.Fatalf("word %d of pages %v = %d, want %d", i, r, pw[i], want)
			}
		}
	}
}

func mremapOnDevice(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 4)
	fill(mem, 4)
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(0), int32(len(w))), "launch (pages move to the device)")
	dst := mmapFlags(c, 4, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	const mremapMaymove, mremapFixed = 1, 2
	got, _, e := syscall.Syscall6(syscall.SYS_MREMAP, addr(mem), uintptr(len(mem)), uintptr(len(mem)), mremapMaymove|mremapFixed, addr(dst), 0)
	if e != 0 || got != addr(dst) {
		c.Fatalf("mremap: %v", e)
	}
	c.unmapped(addr(mem), uintptr(len(mem)))
	checkFill(c, dst, 4, "at the new address")
	dw := u32s(dst)
	c.Check(run(c, dev, addU32, range1(len(dw)), dw, uint32(0), int32(len(dw))), "launch at the new address")
	checkFill(c, dst, 4, "after a launch at the new address")
}

func mprotectOnDevice(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 4)
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(3), int32(len(w))), "launch")
	c.Check(syscall.Mprotect(mem, syscall.PROT_READ), "mprotect")
	err := run(c, dev, addU32, range1(len(w)), w, uint32(1), int32(len(w)))
	expectFault(c, err, svmrt.ErrPermission, addr(mem), addr(mem)+uintptr(len(mem)), "device write after mprotect(READ)")
	for i := range w {
		if w[i] != 3 {
			c.Fatalf("word %d = %d, want 3", i, w[i])
		}
	}
	c.Check(syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_WRITE), "mprotect")
}

func forkOnDevice(c *C) {
	dev := c.Dev()
	mem := mmapAnon(c, 2)
	mem[0], mem[pageSize] = 42, 43
	w := u32s(mem)
	c.Check(run(c, dev, addU32, range1(len(w)), w, uint32(0), int32(len(w))), "launch (pages move to the device)")
	var fds [2]int
	c.Check(syscall.Pipe(fds[:]), "pipe")
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	runtime.LockOSThread()
	pid, errno := forkReadTwo(&mem[0], &mem[pageSize], fds[1])
	runtime.UnlockOSThread()
	if errno != 0 {
		c.Skipf("fork: %v", errno)
	}
	mem[0] = 1 // the parent's change is its own
	var b [2]byte
	if n, _ := syscall.Read(fds[0], b[:]); n != 2 {
		c.Fatalf("child wrote %d bytes", n)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(int(pid), &ws, 0, nil)
	if b != [2]byte{42, 43} {
		c.Fatalf("child read %v from device-resident pages, want [42 43]", b)
	}
	if mem[0] != 1 || mem[pageSize] != 43 {
		c.Fatalf("parent sees %d %d", mem[0], mem[pageSize])
	}
}

// forkReadTwo forks; the child writes *p and *q to fd and exits. The child
// may only make raw system calls: no allocation, no stack growth.
//
//go:nosplit
func forkReadTwo(p, q *byte, fd int) (pid uintptr, errno syscall.Errno) {
	pid, _, errno = syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	b := [2]byte{*p, *q}
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b)), 2)
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	return 0, 0
}
