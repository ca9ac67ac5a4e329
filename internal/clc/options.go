package clc

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Options configure Compile.
type Options struct {
	// Name is the source's file name in diagnostics and debug info
	// (default "program.cl").
	Name string
	// Build is a clBuildProgram options string, see ParseBuildOptions.
	Build string
	// Cache stores compiled modules; nil means DefaultCache().
	Cache *Cache
}

// Supported -cl-std values.
const (
	StdCL12 = "CL1.2"
	StdCL20 = "CL2.0"
	StdCL30 = "CL3.0"
)

// BuildOptions is a parsed clBuildProgram options string.
type BuildOptions struct {
	Std         string   // CL1.2, CL2.0 or CL3.0
	OptDisable  bool     // -cl-opt-disable: compile at -O0
	ClangArgs   []string // what the options become on clang's command line
	IncludeDirs []string // absolute -I directories (their headers are not in cache keys)
	// LinkBitcode are the absolute paths of -svmrt-link-bitcode files:
	// LLVM bitcode clang links into the program before optimizing it
	// (-mlink-bitcode-file), in order. Compile puts their contents in the
	// cache key.
	LinkBitcode []string
}

// mathFlags pass through to clang unchanged: clang implements each with the
// OpenCL meaning.
var mathFlags = map[string]bool{
	"-cl-mad-enable":                         true,
	"-cl-fast-relaxed-math":                  true,
	"-cl-finite-math-only":                   true,
	"-cl-unsafe-math-optimizations":          true,
	"-cl-no-signed-zeros":                    true,
	"-cl-denorms-are-zero":                   true,
	"-cl-fp32-correctly-rounded-divide-sqrt": true,
	"-w":                                     true,
	"-Werror":                                true,
}

var macroRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(=.*)?$`)

// ParseBuildOptions parses an OpenCL build options string: -D name[=value]
// (or -Dname...), -I dir (or -Idir), -cl-std=CL1.2|CL2.0|CL3.0 (default
// CL3.0), -cl-opt-disable, the -cl-* math flags, -w, -Werror and
// -cl-kernel-arg-info (always on), and svmrt's -svmrt-link-bitcode=FILE:
// link the LLVM bitcode in FILE (clc's own output for TargetTriple, e.g.
// separately compiled units llvm-link joined) into the program, which is
// how OpenCL's clLinkProgram makes an executable of compiled units (the
// source is then usually empty). Anything else is a *BuildError that is
// ErrInvalidBuildOptions and names the option. Words may be quoted with '
// or " (a -D value with spaces).
func ParseBuildOptions(s string) (BuildOptions, error) {
	bo := BuildOptions{Std: StdCL30}
	words, err := splitWords(s)
	if err != nil {
		return bo, invalidOption(s, err.Error())
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		// operand returns the value of a -D/-I option, attached or next word.
		operand := func(flag string) (string, error) {
			if len(w) > len(flag) {
				return w[len(flag):], nil
			}
			if i+1 >= len(words) {
				return "", invalidOption(w, "missing argument")
			}
			i++
			return words[i], nil
		}
		switch {
		case strings.HasPrefix(w, "-D"):
			m, err := operand("-D")
			if err != nil {
				return bo, err
			}
			if !macroRE.MatchString(m) {
				return bo, invalidOption("-D "+m, "not a macro name")
			}
			bo.ClangArgs = append(bo.ClangArgs, "-D"+m)
		case strings.HasPrefix(w, "-I"):
			d, err := operand("-I")
			if err != nil {
				return bo, err
			}
			abs, err := filepath.Abs(d)
			if err != nil {
				return bo, invalidOption("-I "+d, err.Error())
			}
			bo.IncludeDirs = append(bo.IncludeDirs, abs)
			bo.ClangArgs = append(bo.ClangArgs, "-I"+abs)
		case strings.HasPrefix(w, "-cl-std="):
			switch v := strings.TrimPrefix(w, "-cl-std="); v {
			case StdCL12, StdCL20, StdCL30:
				bo.Std = v
			default:
				return bo, invalidOption(w, "supported versions are CL1.2, CL2.0 and CL3.0")
			}
		case strings.HasPrefix(w, "-svmrt-link-bitcode="):
			f := strings.TrimPrefix(w, "-svmrt-link-bitcode=")
			if f == "" {
				return bo, invalidOption(w, "missing file name")
			}
			abs, err := filepath.Abs(f)
			if err != nil {
				return bo, invalidOption(w, err.Error())
			}
			bo.LinkBitcode = append(bo.LinkBitcode, abs)
			bo.ClangArgs = append(bo.ClangArgs, "-Xclang", "-mlink-bitcode-file", "-Xclang", abs)
		case w == "-cl-opt-disable":
			bo.OptDisable = true
		case w == "-cl-kernel-arg-info":
			// Always on: KernelInfo needs the argument metadata.
		case mathFlags[w]:
			bo.ClangArgs = append(bo.ClangArgs, w)
		default:
			return bo, invalidOption(w, "not supported by svmrt")
		}
	}
	return bo, nil
}

// splitWords splits on blanks, honouring single and double quotes.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
