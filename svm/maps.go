package svm

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
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
)

func (k Kind) String() string {
	return [...]string{"unmapped", "private-anon", "shared-anon", "file", "stack", "special", "device-memory"}[k]
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

// Migratable reports whether pages of v may move to device memory.
func (v VMA) Migratable() bool { return v.Kind == KindPrivateAnon && v.Read && v.Write }

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

// Maps is a snapshot of the process's mappings, sorted by address.
type Maps struct{ VMAs []VMA }

// ReadMaps parses /proc/self/maps.
func ReadMaps() (*Maps, error) {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("svm: read /proc/self/maps: %w", err)
	}
	return ParseMaps(data)
}

// ParseMaps parses the text format of /proc/<pid>/maps.
func ParseMaps(data []byte) (*Maps, error) {
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
	default: // "", [heap], [anon:...]
		return KindPrivateAnon
	}
}

// Find returns the mapping containing addr.
func (m *Maps) Find(addr uintptr) (VMA, bool) {
	i := sort.Search(len(m.VMAs), func(i int) bool { return m.VMAs[i].End > addr })
	if i < len(m.VMAs) && m.VMAs[i].Start <= addr {
		return m.VMAs[i], true
	}
	return VMA{Start: addr, End: addr + 1, Kind: KindUnmapped}, false
}
