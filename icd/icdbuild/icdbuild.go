// Package icdbuild builds svmrt's OpenCL ICD library (package icd, main
// package cmd/svmrt-icd) from a source tree, for the svmrt icd command and
// the tests. make icd runs the same command (Args).
package icdbuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the module path of svmrt's source tree.
const Module = "github.com/svmrt/svmrt"

// LibName is the library's file name; make icd writes build/LibName.
const LibName = "libsvmrt-icd.so"

// BuildDir is where make icd and svmrt icd put the library, under the
// module root.
const BuildDir = "build"

// Args are the go command's arguments that build the library from the
// module at root into out: -buildmode=c-shared, with the linker version
// script that leaves only the ICD's two entry points exported. The script
// goes through -extldflags because the go command refuses
// -Wl,--version-script in #cgo LDFLAGS.
func Args(root, out string) []string {
	script := filepath.Join(root, "cmd", "svmrt-icd", "exports.map")
	return []string{"build", "-buildmode=c-shared", "-ldflags=-extldflags=-Wl,--version-script=" + script,
		"-o", out, "./cmd/svmrt-icd"}
}

// Build builds the library from the module at root into out with the go
// command goTool ("" finds go on $PATH). The error carries the build's
// output.
func Build(ctx context.Context, goTool, root, out string) error {
	if goTool == "" {
		var err error
		if goTool, err = exec.LookPath("go"); err != nil {
			return fmt.Errorf("building the ICD needs the go command: %w", err)
		}
	}
	if strings.ContainsAny(root, " \t'\"") {
		return fmt.Errorf("building the ICD: the source tree's path %q has a space or quote, which the linker flags cannot carry", root)
	}
	cmd := exec.CommandContext(ctx, goTool, Args(root, out)...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(Args(root, out), " "), err, b)
	}
	// c-shared also writes a C header for the exported Go functions; the
	// library has none for C programs to call (they go through the loader).
	os.Remove(strings.TrimSuffix(out, filepath.Ext(out)) + ".h")
	return nil
}

// ErrNoSource says that no svmrt source tree was found.
var ErrNoSource = errors.New("not inside svmrt's source tree")

// ModuleRoot returns the root of svmrt's source tree that holds dir: the
// nearest directory at or above it with a go.mod for Module.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if isModule(filepath.Join(dir, "go.mod")) {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "svmrt-icd", "exports.map")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoSource
		}
		dir = parent
	}
}

func isModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fs := strings.Fields(s.Text()); len(fs) == 2 && fs[0] == "module" {
			return strings.Trim(fs[1], `"`) == Module
		}
	}
	return false
}
