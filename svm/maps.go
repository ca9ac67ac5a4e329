package svm

import (
	"bufio"
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Kind classifies a CPU mapping the way HMM treats it.
type Kind int

const (
	KindUnmapped     Kind = iota
	KindPrivateAnon       // Go heap, anonymous private mmap, malloc: migratable
	KindSharedAnon        // MAP_SHARED|MAP_ANONYMOUS (shmem): mirrored, not migrated
	KindFile              // file-backed (shared or private): mirrored, not migrated
	KindStack             // the main thread's [stack]: mirrored, never migrated
	KindSpecial           // [vdso], [vvar], [vsyscall]: not device accessible
	KindDeviceMemory      // a device arena of this process: not a host address
	// KindSystem is private anonymous memory the process's own machinery
	// uses: a shared library's .bss (libc, the dynamic loader), the
	// loader's early allocations, the main thread's static TLS, another
	// thread's stack and TLS, the Go runtime's non-heap metadata where the
	// kernel names it. Mirrored, never migrated (see the package doc,
	// "What migrates").
	KindSystem
)

func (k Kind) String() string {
	return [...]string{"unmapped", "private-anon", "shared-anon", "file", "stack", "special", "device-memory", "system"}[k]
}

// VMA is one line of /proc/self/maps.
type VMA struct {
	Start, End        uintptr
	Read, Write, Exec bool
	Shared            bool
	Offset, Inode     uint64
	Path              string
	Kind              Kind
}

// Migratable reports whether pages of v may move to device memory: the one
// place the migration rule is decided (see the package doc, "What
// migrates"). The program's own private anonymous memory migrates whatever
// its protection, read-only too (as migrate_vma moves it), except PROT_NONE,
// which no device may access; everything classified otherwise is mirrored.
func (v VMA) Migratable() bool { return v.Kind == KindPrivateAnon && v.Read }

// Accessible reports whether a device may read v at all.
func (v VMA) Accessible() bool {
	return v.Read && v.Kind != KindSpecial && v.Kind != KindDeviceMemory && v.Kind != KindUnmapped
}

func (v VMA) String() string {
	p := []byte("---p")
	if v.Read {
		p[0] = 'r'
	}
	if v.Write {
		p[1] = 'w'
	}
	if v.Exec {
		p[2] = 'x'
	}
	if v.Shared {
		p[3] = 's'
	}
	return fmt.Sprintf("%#x-%#x %s %s %s", v.Start, v.End, p, v.Kind, v.Path)
}

// Maps is a snapshot of the process's mappings, sorted by address. A Space
// never changes a Maps it has handed out: a change of the mappings gives a
// new one, so a caller may tell "changed" by the pointer.
type Maps struct{ VMAs []VMA }

// ReadMaps parses /proc/self/maps. The kernel hands the file out a page
// or so per read, taking the address-space lock for each: a table read
// while another thread changes mappings (an mprotect splitting one) can
// miss a mapping. Space.VerifiedMaps is what checks the ranges that matter
// against the kernel's current mappings.
func ReadMaps() (*Maps, error) {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("svm: read /proc/self/maps: %w", err)
	}
	return ParseMaps(data)
}

// ParseMaps parses the text format of /proc/<pid>/maps and classifies each
// mapping (Kind), the process's own machinery included (KindSystem).
func ParseMaps(data []byte) (*Maps, error) {
	m, err := parseMaps(data)
	if err != nil {
		return nil, err
	}
	m.VMAs = classifySystem(m.VMAs)
	return m, nil
}

// parseMaps parses and classifies by each line alone.
func parseMaps(data []byte) (*Maps, error) {
	m := &Maps{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		dash := strings.IndexByte(f[0], '-')
		if dash < 0 || len(f[1]) < 4 {
			return nil, fmt.Errorf("svm: bad maps line %q", line)
		}
		start, err1 := strconv.ParseUint(f[0][:dash], 16, 64)
		end, err2 := strconv.ParseUint(f[0][dash+1:], 16, 64)
		off, err3 := strconv.ParseUint(f[2], 16, 64)
		inode, err4 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("svm: bad maps line %q", line)
		}
		v := VMA{Start: uintptr(start), End: uintptr(end), Offset: off, Inode: inode,
			Read: f[1][0] == 'r', Write: f[1][1] == 'w', Exec: f[1][2] == 'x', Shared: f[1][3] == 's'}
		if len(f) >= 6 {
			v.Path = strings.Join(f[5:], " ")
		}
		v.Kind = classify(v)
		m.VMAs = append(m.VMAs, v)
	}
	sort.Slice(m.VMAs, func(i, j int) bool { return m.VMAs[i].Start < m.VMAs[j].Start })
	return m, sc.Err()
}

func classify(v VMA) Kind {
	switch {
	case v.Path == "[vdso]" || v.Path == "[vvar]" || v.Path == "[vsyscall]" || v.Path == "[vvar_vclock]" || strings.HasPrefix(v.Path, "[uprobes"):
		return KindSpecial
	case v.Path == "[stack]":
		return KindStack
	case v.Shared && (v.Inode == 0 || strings.HasPrefix(v.Path, "/dev/zero") || strings.HasPrefix(v.Path, "/SYSV") || v.Path == "[anon_shmem]" || strings.HasPrefix(v.Path, "/memfd:")):
		return KindSharedAnon
	case v.Inode != 0 || strings.HasPrefix(v.Path, "/"):
		return KindFile
	case v.Shared:
		return KindSharedAnon
	case strings.HasPrefix(v.Path, "[anon: Go:") && v.Path != "[anon: Go: heap]",
		strings.HasPrefix(v.Path, "[anon: glibc:"):
		// Named by the Go runtime (non-heap metadata) or glibc (thread
		// stacks) where the kernel has CONFIG_ANON_VMA_NAME.
		return KindSystem
	default: // "", [heap], [anon:...]
		return KindPrivateAnon
	}
}

// Bounds of the guard-page heuristic for thread stacks: glibc puts a
// PROT_NONE guard (one page by default) directly below every stack it
// allocates, and the stacks of the threads a Go program has (cgo's, an
// OpenCL implementation's) are the default size, RLIMIT_STACK (8 MiB).
// A Go heap arena's PROT_NONE reservations are megabytes, so they are not
// taken for guards, and a program's buffer above a PROT_NONE page of its
// own is taken for a stack only if it is that large.
const (
	maxGuard    = 64 << 10
	minStackLen = 1 << 20
)

// exePath is the executable's path as /proc/self/maps spells it: its .bss
// (Go globals) is the program's own memory; every other file's anonymous
// tail belongs to a shared library.
var exePath, _ = os.Readlink("/proc/self/exe")

// bootSystem are the ranges of the loader's and libc's own anonymous
// memory as they were when this package was initialised: the mapping right
// below [vvar]/[vdso] (the loader's first allocations) and the one holding
// the main thread's static TLS. They are recorded then because later
// mappings of the program may merge with them (the kernel joins adjacent
// anonymous mappings with the same flags, and the first mmap of a program
// usually lands right below them); only the recorded part is system memory.
var bootSystem = recordBootSystem()

func recordBootSystem() [][2]uintptr {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	m, err := parseMaps(data)
	if err != nil {
		return nil
	}
	tls := uffd.MainTLS() // read in uffd's init, on the main thread
	var out [][2]uintptr
	for i, v := range m.VMAs {
		if v.Kind != KindPrivateAnon {
			continue
		}
		if i+1 < len(m.VMAs) && m.VMAs[i+1].Start == v.End && m.VMAs[i+1].Kind == KindSpecial {
			out = append(out, [2]uintptr{v.Start, v.End})
		}
		if tls != 0 && v.Start <= tls && tls < v.End {
			// Only the pages of the TLS block and the TCB: the rest of
			// that mapping is allocations the runtime may free, and a
			// program's mapping may later take their place.
			lo := max(v.Start, (tls-PageSize)&^(PageSize-1))
			hi := min(v.End, (tls+4<<10+PageSize-1)&^(PageSize-1))
			out = append(out, [2]uintptr{lo, hi})
		}
	}
	return out
}

// classifySystem marks the private anonymous memory the process's machinery
// uses as KindSystem (vmas sorted; the result stays sorted, split where
// only part of a mapping is system memory):
//
//   - a shared library's .bss (libc's, the dynamic loader's, and those of
//     libraries loaded later): the anonymous memory right after its last
//     file mapping, up to the end its ELF program headers give (the kernel
//     merges a program's mapping that lands right after it into the same
//     mapping: only the .bss part is system memory);
//   - the loader's first allocations (below [vvar]) and the main thread's
//     static TLS (errno lives there), as recorded at start-up (bootSystem);
//   - a mapping right above a small PROT_NONE guard: a thread stack made
//     by glibc, with that thread's TLS at its top.
//
// Kernel HMM may migrate such pages because the kernel never faults on
// itself; in user space the thread that migrates a page touches libc and
// the loader's data and its own TLS while the page is in transit, and a
// fault on a page it owns itself would wait for itself forever.
func classifySystem(vmas []VMA) []VMA {
	sys := append([][2]uintptr(nil), bootSystem...)
	base := map[string]uintptr{} // library path -> load address (its offset-0 mapping)
	for _, v := range vmas {
		if v.Kind == KindFile && v.Offset == 0 {
			if _, ok := base[v.Path]; !ok {
				base[v.Path] = v.Start
			}
		}
	}
	for i := 1; i < len(vmas); i++ {
		v, p := &vmas[i], vmas[i-1]
		if v.Kind != KindPrivateAnon || p.End != v.Start {
			continue
		}
		switch {
		case p.Kind == KindFile && p.Path != exePath && p.Path != exePath+" (deleted)":
			// Only after a shared object: a data file a program maps has
			// no .bss (and no headers). The image ends where its headers
			// say; what lies beyond (possibly all of v) is somebody else's.
			ext := elfExtent(p.Path)
			b, ok := base[p.Path]
			if ext == 0 {
				continue
			}
			end := v.End // load address unknown: all of it, to be safe
			if ok {
				end = min(v.End, max(v.Start, (b+ext+PageSize-1)&^(PageSize-1)))
			}
			if end > v.Start {
				sys = append(sys, [2]uintptr{v.Start, end})
			}
		case !p.Read && !p.Write && p.Kind == KindPrivateAnon && p.End-p.Start <= maxGuard && v.End-v.Start >= minStackLen:
			v.Kind = KindSystem // a thread stack above its guard page
		}
	}
	if len(sys) == 0 {
		return vmas
	}
	slices.SortFunc(sys, func(a, b [2]uintptr) int { return cmp.Compare(a[0], b[0]) })
	var out []VMA
	for _, v := range vmas {
		if v.Kind != KindPrivateAnon {
			out = append(out, v)
			continue
		}
		// Cut the system ranges out of v.
		for _, r := range sys {
			if r[1] <= v.Start || r[0] >= v.End {
				continue
			}
			if r[0] > v.Start {
				head := v
				head.End = r[0]
				out = append(out, head)
				v.Start = r[0]
			}
			part := v
			part.End = min(v.End, r[1])
			part.Kind = KindSystem
			out = append(out, part)
			v.Start = part.End
			if v.Start >= v.End {
				break
			}
		}
		if v.Start < v.End {
			out = append(out, v)
		}
	}
	return out
}

// elfExtents caches elfExtent by path.
var elfExtents sync.Map

// elfExtent is how far a shared object's loaded image reaches from its load
// address: the end of its last PT_LOAD segment in memory (p_vaddr +
// p_memsz, .bss included); 0 when the file cannot be read as ELF.
func elfExtent(path string) uintptr {
	if v, ok := elfExtents.Load(path); ok {
		return v.(uintptr)
	}
	var ext uintptr
	if f, err := elf.Open(strings.TrimSuffix(path, " (deleted)")); err == nil {
		var lo uint64 = ^uint64(0)
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD {
				lo = min(lo, p.Vaddr&^(max(p.Align, 1)-1))
				ext = max(ext, uintptr(p.Vaddr+p.Memsz))
			}
		}
		if lo != ^uint64(0) {
			ext -= uintptr(lo)
		}
		f.Close()
	}
	elfExtents.Store(path, ext)
	return ext
}

// CheckRange checks that the device named dev may access [start, start+n)
// (write: for writing) before anything touches it: the range must not
// wrap, must lie in the user address space, and every byte must be in a
// readable (writable) mapping that is host memory a device may use. The
// error names the first bad address and why: a *FaultError wrapping
// ErrDeviceFault (NULL, unmapped, PROT_NONE, [vvar], device memory) or
// ErrPermission (a write to read-only memory), or ErrNotSupported naming
// the mapping for the memory of the process's machinery (KindSystem and the
// main thread's [stack]), which a memory command must not overwrite.
// n == 0 checks nothing.
func (m *Maps) CheckRange(dev string, start, n uintptr, write bool) error {
	if n == 0 {
		return nil
	}
	fe := func(a uintptr, why string) error {
		return &FaultError{Device: dev, Addr: a, Write: write, Reason: why, Err: ErrDeviceFault}
	}
	switch {
	case start < PageSize:
		return fe(start, fmt.Sprintf("range of %d bytes at %#x starts in the NULL page", n, start))
	case start+n < start || start+n > UserSpaceEnd:
		return fe(start, fmt.Sprintf("range of %d bytes at %#x runs past the end of the user address space (%#x)", n, start, UserSpaceEnd))
	}
	for a, end := start, start+n; a < end; {
		v, ok := m.Find(a)
		switch {
		case !ok:
			return fe(a, fmt.Sprintf("address not mapped (range %#x..%#x)", start, end))
		case v.Kind == KindDeviceMemory:
			return fe(a, "address is device memory, not a host address")
		case v.Kind == KindSpecial:
			return fe(a, fmt.Sprintf("%s mapping is not device accessible", v.Path))
		case !v.Read:
			return fe(a, "mapping is PROT_NONE")
		case write && !v.Write:
			return &FaultError{Device: dev, Addr: a, Write: true, Reason: "mapping is read-only", Err: ErrPermission}
		case write && (v.Kind == KindSystem || v.Kind == KindStack):
			return &FaultError{Device: dev, Addr: a, Write: true, Err: ErrNotSupported,
				Reason: fmt.Sprintf("mapping %v is memory of the process's own machinery (loader, libc, a thread's stack or TLS)", v)}
		}
		a = v.End
	}
	return nil
}

// UserSpaceEnd is the end of the 47-bit user address space (x86-64 with
// 4-level page tables; the logical page table covers exactly this).
const UserSpaceEnd = uintptr(1) << 47

// Find returns the mapping containing addr.
func (m *Maps) Find(addr uintptr) (VMA, bool) {
	if v, ok := m.next(addr); ok && v.Start <= addr {
		return v, true
	}
	return VMA{Start: addr, End: addr + 1, Kind: KindUnmapped}, false
}
