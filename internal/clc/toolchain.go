package clc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// ErrNoToolchain: clang-15 or one of the LLVM 15 tools is missing. It wraps
// errdefs.ErrNotSupported: a machine without the toolchain simply cannot run
// OpenCL C kernels.
var ErrNoToolchain = fmt.Errorf("clc: LLVM 15 toolchain not found: %w", errdefs.ErrNotSupported)

// installHint names what to install; every missing-toolchain error ends with it.
const installHint = "install the Debian packages clang-15 llvm-15 (run scripts/setup.sh)"

// Toolchain holds the absolute paths of the LLVM 15 tools clc runs.
type Toolchain struct {
	ClangPath, LinkPath, OptPath, LLCPath, DisPath, AsPath string
	// Version is clang's first --version line, e.g. "Debian clang version
	// 15.0.6"; it is part of every cache key.
	Version string
}

// tool describes one program: versioned name, unversioned fallback, env override.
type tool struct {
	versioned, plain, env string
	dst                   func(*Toolchain) *string
}

var tools = []tool{
	{"clang-15", "clang", "SVMRT_CLANG", func(t *Toolchain) *string { return &t.ClangPath }},
	{"llvm-link-15", "llvm-link", "SVMRT_LLVM_LINK", func(t *Toolchain) *string { return &t.LinkPath }},
	{"opt-15", "opt", "SVMRT_OPT", func(t *Toolchain) *string { return &t.OptPath }},
	{"llc-15", "llc", "SVMRT_LLC", func(t *Toolchain) *string { return &t.LLCPath }},
	{"llvm-dis-15", "llvm-dis", "SVMRT_LLVM_DIS", func(t *Toolchain) *string { return &t.DisPath }},
	{"llvm-as-15", "llvm-as", "SVMRT_LLVM_AS", func(t *Toolchain) *string { return &t.AsPath }},
}

var (
	findMu    sync.Mutex
	foundTool *Toolchain
)

// FindToolchain locates the tools on $PATH, honouring the overrides
// SVMRT_CLANG, SVMRT_LLVM_LINK, SVMRT_OPT, SVMRT_LLC, SVMRT_LLVM_DIS and
// SVMRT_LLVM_AS (each a path to the program). A success is cached for the
// process; a failure is not, so installing the tools later works without a
// restart. A missing tool gives an error that is both ErrNoToolchain and
// errdefs.ErrNotSupported.
func FindToolchain() (*Toolchain, error) {
	findMu.Lock()
	defer findMu.Unlock()
	if foundTool != nil {
		return foundTool, nil
	}
	tc, err := findToolchain(os.Getenv("PATH"), os.Getenv)
	if err != nil {
		return nil, err
	}
	foundTool = tc
	return tc, nil
}

// FindToolchainIn looks only in the directories of pathList (PATH syntax),
// ignores the environment overrides and caches nothing. Tests use it to
// force a missing toolchain.
func FindToolchainIn(pathList string) (*Toolchain, error) {
	return findToolchain(pathList, func(string) string { return "" })
}

func findToolchain(pathList string, getenv func(string) string) (*Toolchain, error) {
	tc := &Toolchain{}
	var missing []string
	for _, tl := range tools {
		p, err := locate(tl, pathList, getenv)
		if err != nil {
			missing = append(missing, err.Error())
			continue
		}
		*tl.dst(tc) = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s; %s", ErrNoToolchain, strings.Join(missing, "; "), installHint)
	}
	v, err := versionLine(tc.ClangPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s --version: %v; %s", ErrNoToolchain, tc.ClangPath, err, installHint)
	}
	tc.Version = v
	return tc, nil
}

// locate finds one tool. An explicit override must exist but is trusted to be
// version 15 (whoever sets it knows); an unversioned name found on the path
// is accepted only if its --version says 15, since the IR dialect (opaque
// pointers, metadata spelling) changes between LLVM releases.
func locate(tl tool, pathList string, getenv func(string) string) (string, error) {
	if p := getenv(tl.env); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s is not an executable", tl.env, p)
	}
	if p := lookIn(pathList, tl.versioned); p != "" {
		return p, nil
	}
	if p := lookIn(pathList, tl.plain); p != "" {
		if v, err := versionLine(p); err == nil && isVersion15(p, v) {
			return p, nil
		}
		return "", fmt.Errorf("%s not found and %s is not version 15", tl.versioned, p)
	}
	return "", fmt.Errorf("%s not found", tl.versioned)
}

func isVersion15(path, firstLine string) bool {
	if strings.Contains(firstLine, "version 15.") {
		return true
	}
	// LLVM tools print "LLVM (http://llvm.org/):" first and the version on
	// the next line.
	out, err := exec.Command(path, "--version").CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("version 15."))
}

func lookIn(pathList, name string) string {
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func versionLine(path string) (string, error) {
	out, err := exec.CommandContext(context.Background(), path, "--version").Output()
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "", errors.New("empty --version output")
	}
	return strings.TrimSpace(line), nil
}
