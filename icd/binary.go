package icd

/*
#include "icd.h"
*/
import "C"

import (
	"bytes"
	"fmt"

	"github.com/svmrt/svmrt/internal/clc"
)

// Program binaries (CL_PROGRAM_BINARIES, clCreateProgramWithBinary) are
// svmrt's own formats, not machine code: the simulated GPU runs what
// runtime.Build makes of a program, and runtime.Build caches that on disk,
// so a binary only has to say how to build the program again.
//
//   - A program built from source: sourceMagic, the build options, a NUL,
//     and the source. Built again with those options (a cache hit).
//   - A compiled object, a library or an executable clLinkProgram made:
//     bitcodeMagic, the kind (bitcodeObject, bitcodeLibrary,
//     bitcodeExecutable), the OpenCL C version, a newline, the link
//     options, a NUL, and the LLVM bitcode (the unit's, or the linked
//     units'). Objects and libraries can be linked; a program built from
//     any of the three links its bitcode into an executable (link.go).

const (
	sourceMagic  = "svmrt-opencl-c-binary-1\n"
	bitcodeMagic = "svmrt-llvm-bitcode-1\n"
)

// The kinds of a bitcode binary.
const (
	bitcodeObject     = 'o'
	bitcodeLibrary    = 'l'
	bitcodeExecutable = 'e'
)

// The binary types of compiled objects and libraries (program.binType).
const (
	binTypeObject  C.cl_program_binary_type = C.CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT
	binTypeLibrary C.cl_program_binary_type = C.CL_PROGRAM_BINARY_TYPE_LIBRARY
)

// llvmBitcodeMagic starts every LLVM bitcode file.
var llvmBitcodeMagic = []byte("BC\xc0\xde")

// programBinary is a parsed program binary.
type programBinary struct {
	options string
	// source for a source binary; for a bitcode binary kind, std and bc.
	source string
	kind   byte
	std    string
	bc     []byte
}

// binaryOf is p's binary. reg.mu must be held and p built, compiled or
// linked.
func (p *program) binaryOf() []byte {
	if p.unit == nil {
		b := []byte(sourceMagic + p.built)
		b = append(b, 0)
		return append(b, p.source...)
	}
	kind := byte(bitcodeExecutable)
	switch p.binType {
	case binTypeObject:
		kind = bitcodeObject
	case binTypeLibrary:
		kind = bitcodeLibrary
	}
	b := append([]byte(bitcodeMagic), kind)
	b = append(b, p.std+"\n"+p.built...)
	b = append(b, 0)
	return append(b, p.unit...)
}

// parseBinary reads a binary binaryOf made; an error says what is wrong.
func parseBinary(b []byte) (programBinary, error) {
	if rest, ok := bytes.CutPrefix(b, []byte(sourceMagic)); ok {
		opts, src, found := bytes.Cut(rest, []byte{0})
		if !found || bytes.IndexByte(src, 0) >= 0 {
			return programBinary{}, fmt.Errorf("source binary without its options and source")
		}
		return programBinary{options: string(opts), source: string(src)}, nil
	}
	rest, ok := bytes.CutPrefix(b, []byte(bitcodeMagic))
	if !ok {
		return programBinary{}, fmt.Errorf("not an svmrt program binary")
	}
	if len(rest) == 0 || bytes.IndexByte([]byte{bitcodeObject, bitcodeLibrary, bitcodeExecutable}, rest[0]) < 0 {
		return programBinary{}, fmt.Errorf("bitcode binary of no known kind")
	}
	kind := rest[0]
	std, rest, found := bytes.Cut(rest[1:], []byte{'\n'})
	if !found {
		return programBinary{}, fmt.Errorf("bitcode binary without its OpenCL C version")
	}
	switch string(std) {
	case clc.StdCL12, clc.StdCL20, clc.StdCL30:
	default:
		return programBinary{}, fmt.Errorf("bitcode binary for OpenCL C %q", std)
	}
	opts, bc, found := bytes.Cut(rest, []byte{0})
	if !found || !bytes.HasPrefix(bc, llvmBitcodeMagic) {
		return programBinary{}, fmt.Errorf("bitcode binary without LLVM bitcode")
	}
	return programBinary{options: string(opts), kind: kind, std: string(std), bc: bytes.Clone(bc)}, nil
}
