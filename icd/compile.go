package icd

/*
#include "icd.h"
*/
import "C"

import (
	gocontext "context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Separate compilation: clCompileProgram compiles a program's source with
// its embedded headers (written to a directory named by their contents,
// given to clang with -I: writeHeaders) to LLVM bitcode, the program's
// unit, and the program becomes a compiled object
// (CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT), not an executable: it may call
// functions it only declares, which clLinkProgram (link.go) finds in the
// other units.

// headersRoot is where embedded headers are kept: beside runtime.Build's
// cache ($SVMRT_CACHE_DIR, else the user cache directory's svmrt), or in
// the temporary directory when there is none.
func headersRoot() string {
	if d := os.Getenv("SVMRT_CACHE_DIR"); d != "" {
		return filepath.Join(d, "icd-headers")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "svmrt", "icd-headers")
	}
	return filepath.Join(os.TempDir(), "svmrt-icd-headers")
}

// writeHeaders writes a compile's embedded headers (names are relative
// paths, as #include names them) into a directory named by their names and
// contents, and returns it. The directory is the -I of the build, so the
// build cache's key (which has the options, not the headers' contents)
// still tells different headers apart, and the same headers compile from
// the cache in the next process. Directories are written under a
// temporary name and renamed into place, so concurrent processes share
// them safely; they are kept, like the cache.
func writeHeaders(names []string, srcs []string) (string, error) {
	var parts []string
	for i, n := range names {
		clean := filepath.Clean(n)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return "", fmt.Errorf("header include name %q is not a relative path inside the include directory", n)
		}
		parts = append(parts, clean, srcs[i])
	}
	root := headersRoot()
	dir := filepath.Join(root, clc.CacheKey(parts...)[:32])
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "tmp-")
	if err != nil {
		return "", err
	}
	for i := 0; i < len(parts); i += 2 {
		path := filepath.Join(tmp, parts[i])
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		if err := os.WriteFile(path, []byte(parts[i+1]), 0o644); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp) // another process put the same headers there first
		if _, serr := os.Stat(dir); serr != nil {
			return "", err
		}
	}
	return dir, nil
}

// quoteOption quotes a word for a build options string (clc's parser
// takes ' and " quotes).
func quoteOption(s string) string {
	if !strings.ContainsAny(s, " \t'\"") {
		return s
	}
	return `"` + s + `"`
}

//export svmrt_go_compile_program
func svmrt_go_compile_program(ph unsafe.Pointer, n C.cl_uint, list *unsafe.Pointer, options *C.char, nh C.cl_uint,
	headers *unsafe.Pointer, names **C.char, fn, userData unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	p := programOfLocked(ph)
	reg.mu.Unlock()
	if p == nil {
		return C.CL_INVALID_PROGRAM
	}
	if code := deviceListOf(p.ctx, n, list); code != C.CL_SUCCESS {
		return code
	}
	if (nh == 0) != (headers == nil) || (nh == 0) != (names == nil) || (fn == nil && userData != nil) {
		return C.CL_INVALID_VALUE
	}
	var hnames, hsrcs []string
	reg.mu.Lock()
	if nh > 0 {
		hs, ns := unsafe.Slice(headers, int(nh)), unsafe.Slice(names, int(nh))
		for i := range hs {
			h := programOfLocked(hs[i])
			if h == nil || ns[i] == nil {
				reg.mu.Unlock()
				if h == nil {
					return C.CL_INVALID_PROGRAM
				}
				return C.CL_INVALID_VALUE
			}
			hnames = append(hnames, C.GoString(ns[i]))
			hsrcs = append(hsrcs, h.source)
		}
	}
	if p.binary || p.linked {
		reg.mu.Unlock()
		return C.CL_INVALID_OPERATION // no source to compile
	}
	if p.building || p.kernels > 0 {
		reg.mu.Unlock()
		return C.CL_INVALID_OPERATION
	}
	p.building = true
	p.status = C.CL_BUILD_IN_PROGRESS
	reg.mu.Unlock()

	opts := ""
	if options != nil {
		opts = C.GoString(options)
	}
	var err error
	buildOpts := opts
	if len(hnames) > 0 {
		var dir string
		if dir, err = writeHeaders(hnames, hsrcs); err == nil {
			buildOpts = strings.TrimSpace(opts + " -I " + quoteOption(dir))
		}
	}
	var built *kernels.Program
	if err == nil {
		built, err = svmrt.Build(gocontext.Background(), p.source, buildOpts)
	}

	reg.mu.Lock()
	p.building = false
	p.options = opts
	p.prog = nil
	code := C.cl_int(C.CL_SUCCESS)
	if err != nil {
		code = C.CL_COMPILE_PROGRAM_FAILURE
		if errors.Is(err, svmrt.ErrInvalidBuildOptions) {
			code = C.CL_INVALID_COMPILER_OPTIONS
		} else if errors.Is(err, svmrt.ErrNoToolchain) {
			code = C.CL_COMPILER_NOT_AVAILABLE
		}
		p.status = C.CL_BUILD_ERROR
		p.log = buildLog(err)
		p.unit, p.std, p.binType = nil, "", 0
	} else {
		p.status = C.CL_BUILD_SUCCESS
		p.log = built.Module().Log
		p.unit, p.std = built.Module().BC, built.Module().Std
		p.built = ""
		p.binType = C.CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT
	}
	reg.mu.Unlock()
	if fn != nil {
		C.svmrt_icd_call_program_notify(fn, p.h, userData)
	}
	return code
}
