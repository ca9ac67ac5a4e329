package devrt

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// moduleRange returns the lowest and highest address of the mappings of the
// file at path in /proc/self/maps (0, 0 if it is not mapped).
func moduleRange(path string) (lo, hi uintptr) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, " "+path) {
			continue
		}
		dash := strings.IndexByte(line, '-')
		sp := strings.IndexByte(line, ' ')
		if dash < 0 || sp < dash {
			continue
		}
		s, err1 := strconv.ParseUint(line[:dash], 16, 64)
		e, err2 := strconv.ParseUint(line[dash+1:sp], 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if lo == 0 || uintptr(s) < lo {
			lo = uintptr(s)
		}
		if uintptr(e) > hi {
			hi = uintptr(e)
		}
	}
	return lo, hi
}
