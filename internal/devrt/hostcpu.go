package devrt

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/internal/clc"
)

// Native modules are optimized and compiled for the host's CPU (-mcpu=native
// for opt and llc): the cpu device runs them on this machine only, and the
// vectorizer needs the host's vector width (AVX2, AVX-512) to turn a group
// loop over dimension 0 into vector code. The compiled-object cache then
// keys native objects by the CPU they were made for.

var hostCPU struct {
	once sync.Once
	id   string
}

// hostCPUID names what "-mcpu=native" means here: the host CPU LLVM
// detects (llc --version) and the CPU's feature flags (/proc/cpuinfo),
// which a virtual machine may mask.
func hostCPUID(ctx context.Context, tc *clc.Toolchain) string {
	hostCPU.once.Do(func() {
		var id []string
		if out, err := exec.CommandContext(ctx, tc.LLCPath, "--version").Output(); err == nil {
			for _, l := range strings.Split(string(out), "\n") {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "Host CPU:") {
					id = append(id, l)
				}
			}
		}
		if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "flags") {
					id = append(id, hashOf(l))
					break
				}
			}
		}
		hostCPU.id = strings.Join(id, " ")
	})
	return hostCPU.id
}
