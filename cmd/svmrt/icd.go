package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/svmrt/svmrt/icd/icdbuild"
)

// Where svmrt icd -install writes svmrt.icd, and how it tells root
// (variables for the tests).
var (
	vendorsDir = "/etc/OpenCL/vendors"
	geteuid    = os.Geteuid
)

// icdCmd builds or locates svmrt's OpenCL ICD library, prints how to
// select it, and with -install registers it with the ICD loader.
func icdCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("icd", flag.ContinueOnError)
	lib := fs.String("lib", "", "use this library instead of building one")
	out := fs.String("o", "", "where to build the library (default: build/"+icdbuild.LibName+" in svmrt's source tree)")
	install := fs.Bool("install", false, "write "+filepath.Join(vendorsDir, "svmrt.icd")+" naming the library, so that every OpenCL program sees the svmrt platform (needs root)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: svmrt icd [-lib PATH | -o PATH] [-install]

Builds svmrt's OpenCL platform — the simulated GPU as an OpenCL 3.0 device with fine-grained
system SVM — as a library for the OpenCL ICD loader (as make icd does), or locates it, and
prints its .icd line and how to select it. Inside svmrt's source tree it builds
build/%s; elsewhere it looks for %s next to the svmrt executable.
Debian's ICD loader (ocl-icd) selects vendors with OCL_ICD_VENDORS (a directory of .icd
files, an .icd file or a library path), not OCL_ICD_FILENAMES. Contexts, queues and every
query work; programs, kernels, enqueues and SVM allocation come in later versions.

flags:
`, icdbuild.LibName, icdbuild.LibName)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, ""); !ok {
		return code
	}
	if *lib != "" && *out != "" {
		fmt.Fprintln(stderr, "svmrt icd: -lib and -o: use a library or build one, not both")
		return 2
	}
	path, err := icdLibrary(*lib, *out, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "svmrt icd:", err)
		return 1
	}
	icdFile := filepath.Join(vendorsDir, "svmrt.icd")
	fmt.Fprintf(stdout, "library     %s\n", path)
	fmt.Fprintf(stdout, ".icd line   %s\n", path)
	fmt.Fprintf(stdout, "select it   OCL_ICD_VENDORS=%s clinfo    (this platform alone, for one program)\n", path)
	if !*install {
		fmt.Fprintf(stdout, "install it  svmrt icd -install    (as root: writes %s; every OpenCL program then lists the svmrt platform beside the others)\n", icdFile)
		return 0
	}
	if geteuid() != 0 {
		fmt.Fprintf(stderr, "svmrt icd: -install writes %s and needs root: run it with sudo, or select the library for one program with OCL_ICD_VENDORS=%s\n", icdFile, path)
		return 1
	}
	if err := writeICD(icdFile, path); err != nil {
		fmt.Fprintln(stderr, "svmrt icd:", err)
		return 1
	}
	fmt.Fprintf(stdout, "installed   %s (it names the library by its path: keep the library there)\n", icdFile)
	return 0
}

// icdLibrary returns the absolute path of the library to use: lib when
// given; else a fresh build (into out, or the source tree's build/); else
// the one next to the executable.
func icdLibrary(lib, out string, stderr io.Writer) (string, error) {
	if lib != "" {
		abs, err := filepath.Abs(lib)
		if err != nil {
			return "", err
		}
		if st, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("-lib: %w", err)
		} else if !st.Mode().IsRegular() {
			return "", fmt.Errorf("-lib %s: not a file", abs)
		}
		return abs, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := icdbuild.ModuleRoot(cwd)
	switch {
	case err == nil:
		if out == "" {
			out = filepath.Join(root, icdbuild.BuildDir, icdbuild.LibName)
		}
		if out, err = filepath.Abs(out); err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}
		fmt.Fprintf(stderr, "svmrt icd: building %s\n", out)
		if err := icdbuild.Build(context.Background(), "", root, out); err != nil {
			return "", err
		}
		return out, nil
	case !errors.Is(err, icdbuild.ErrNoSource):
		return "", err
	case out != "":
		return "", fmt.Errorf("-o: building the library needs svmrt's source tree, and %s is not inside one", cwd)
	}
	if exe, err := os.Executable(); err == nil {
		for _, dir := range []string{filepath.Dir(exe), filepath.Join(filepath.Dir(exe), "..", "lib")} {
			p := filepath.Join(dir, icdbuild.LibName)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return filepath.Clean(p), nil
			}
		}
	}
	return "", fmt.Errorf("%s is not inside svmrt's source tree (where svmrt icd builds the library) and there is no %s next to the svmrt executable: run svmrt icd in the source tree, or name a library with -lib", cwd, icdbuild.LibName)
}

// writeICD writes the .icd file (the library's path on one line), replacing
// any earlier one at once.
func writeICD(icdFile, lib string) error {
	if err := os.MkdirAll(filepath.Dir(icdFile), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(icdFile), ".svmrt.icd.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintln(tmp, lib); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), icdFile)
}
