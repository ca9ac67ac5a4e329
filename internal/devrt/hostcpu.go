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

// Kernel modules are optimized and compiled for the host's CPU
// (-mcpu=native for opt and llc): they run on this machine only, and with
// its instructions (FMA, wider vectors). Both targets, native and
// instrumented, get the same flags, so that where OpenCL C lets a multiply
// and an add fuse (the default: FP_CONTRACT ON), the cpu device and the
// simulated GPU fuse alike and give the same bits — as PoCL, which compiles
// for the host too. The compiled-object cache keys objects by the CPU they
// were made for.

var hostCPU struct {
	once sync.Once
	id   string
}

// hostCPUID names what "-mcpu=native" means here: the host CPU LLVM
// detects (llc --version) and the CPU's feature flags (/proc/cpuinfo),
// which a virtual machine may mask.
func hostCPUID(tc *clc.Toolchain) string {
	hostCPU.once.Do(func() {
		var id []string
		// Not the build's context: a cancelled first build must not leave
		// the CPU out of every later key.
		if out, err := exec.CommandContext(context.Background(), tc.LLCPath, "--version").Output(); err == nil {
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
