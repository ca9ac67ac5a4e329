package clc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// TargetTriple is the one target clc compiles for: kernels run in the
// process (cpu device) or in the process under instrumentation (simulated
// GPU), so they are x86-64 Linux code.
const TargetTriple = "x86_64-unknown-linux-gnu"

// TargetDataLayout is clang-15's datalayout for TargetTriple; Layout's rules
// follow it.
const TargetDataLayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"

// run executes one tool in dir and returns its stdout; a failure is a
// *ToolError carrying stderr.
func (t *Toolchain) run(ctx context.Context, dir, prog string, args ...string) ([]byte, error) {
	out, _, err := t.runLog(ctx, dir, prog, args...)
	return out, err
}

// runLog is run that also returns stderr of a successful run (warnings).
func (t *Toolchain) runLog(ctx context.Context, dir, prog string, args ...string) ([]byte, string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, "", &ToolError{Tool: filepath.Base(prog), Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), stderr.String(), nil
}

// workDir makes the per-call temporary directory; the caller removes it.
func workDir() (string, func(), error) {
	d, err := os.MkdirTemp("", "svmrt-clc-")
	if err != nil {
		return "", nil, fmt.Errorf("clc: temp dir: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// writeInputs writes named files into dir.
func writeInputs(dir string, files map[string][]byte) error {
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("clc: write %s: %w", name, err)
		}
	}
	return nil
}

// Link links bitcode modules with llvm-link into one module.
func (t *Toolchain) Link(ctx context.Context, bcs ...[]byte) ([]byte, error) {
	if len(bcs) == 0 {
		return nil, fmt.Errorf("clc: Link: no modules")
	}
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	files := map[string][]byte{}
	args := []string{"-o", "-"}
	for i, bc := range bcs {
		name := fmt.Sprintf("in%d.bc", i)
		files[name] = bc
		args = append(args, name)
	}
	if err := writeInputs(dir, files); err != nil {
		return nil, err
	}
	return t.run(ctx, dir, t.LinkPath, args...)
}

// LinkNeeded links into module base only the definitions of libs that it
// needs, and theirs in turn (llvm-link --only-needed, which loads the
// libraries lazily): linking a large library this way costs what the
// program uses of it, not the library's size.
func (t *Toolchain) LinkNeeded(ctx context.Context, base []byte, libs ...[]byte) ([]byte, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	files := map[string][]byte{"base.bc": base}
	// The flag applies to every file after the first: base is linked
	// whole.
	args := []string{"--only-needed", "-o", "-", "base.bc"}
	for i, bc := range libs {
		name := fmt.Sprintf("lib%d.bc", i)
		files[name] = bc
		args = append(args, name)
	}
	if err := writeInputs(dir, files); err != nil {
		return nil, err
	}
	return t.run(ctx, dir, t.LinkPath, args...)
}

// Opt runs opt-15 with args (e.g. "-O3", "-passes=..."): bitcode in, bitcode out.
func (t *Toolchain) Opt(ctx context.Context, bc []byte, args ...string) ([]byte, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := writeInputs(dir, map[string][]byte{"in.bc": bc}); err != nil {
		return nil, err
	}
	return t.run(ctx, dir, t.OptPath, append(append([]string{}, args...), "-o", "-", "in.bc")...)
}

// Dis disassembles bitcode to textual IR (llvm-dis-15).
func (t *Toolchain) Dis(ctx context.Context, bc []byte) (string, error) {
	dir, done, err := workDir()
	if err != nil {
		return "", err
	}
	defer done()
	if err := writeInputs(dir, map[string][]byte{"in.bc": bc}); err != nil {
		return "", err
	}
	out, err := t.run(ctx, dir, t.DisPath, "-o", "-", "in.bc")
	return string(out), err
}

// Asm assembles textual IR into bitcode (llvm-as-15).
func (t *Toolchain) Asm(ctx context.Context, ll string) ([]byte, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := writeInputs(dir, map[string][]byte{"in.ll": []byte(ll)}); err != nil {
		return nil, err
	}
	return t.run(ctx, dir, t.AsPath, "-o", "-", "in.ll")
}

// CompileC compiles C source (runtime pieces) to bitcode for TargetTriple at
// -O2; args are extra clang flags.
func (t *Toolchain) CompileC(ctx context.Context, csrc string, args ...string) ([]byte, error) {
	return t.compileSource(ctx, "piece.c", csrc, append([]string{"-x", "c", "-O2", "-fPIC"}, args...))
}

// CompileCL compiles OpenCL C (the builtins library) to bitcode with the same
// target, address-space and feature flags as Compile, -O2; args are extra
// clang flags (e.g. "-cl-std=CL2.0", "-D..."). It reports no kernels and uses
// no cache: the library's build owns that.
func (t *Toolchain) CompileCL(ctx context.Context, src string, args ...string) ([]byte, error) {
	flags := append(frontEndFlags(StdCL30), "-O2")
	return t.compileSource(ctx, "lib.cl", src, append(flags, args...))
}

func (t *Toolchain) compileSource(ctx context.Context, name, src string, flags []string) ([]byte, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := writeInputs(dir, map[string][]byte{name: []byte(src)}); err != nil {
		return nil, err
	}
	args := append([]string{"-target", TargetTriple, "-emit-llvm", "-c"}, flags...)
	args = append(args, "-o", "-", name)
	out, err := t.run(ctx, dir, t.ClangPath, args...)
	var exit *exec.ExitError
	if te, ok := err.(*ToolError); ok && errors.As(te.Err, &exit) {
		return nil, newBuildError(te.Stderr)
	}
	return out, err
}

// Codegen compiles bitcode to an x86-64 ELF object with llc-15 -O3,
// position-independent (it goes into a shared object). cpu is an -mcpu
// value ("native", "x86-64-v3"); "" means the generic x86-64.
func (t *Toolchain) Codegen(ctx context.Context, bc []byte, cpu string) ([]byte, error) {
	dir, done, err := workDir()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := writeInputs(dir, map[string][]byte{"in.bc": bc}); err != nil {
		return nil, err
	}
	args := []string{"-O3", "-filetype=obj", "-relocation-model=pic", "-mtriple=" + TargetTriple}
	if cpu != "" {
		args = append(args, "-mcpu="+cpu)
	}
	return t.run(ctx, dir, t.LLCPath, append(args, "-o", "-", "in.bc")...)
}

// SharedObject links objects into a shared library in dir (which must exist
// and outlive the library's use) with clang-15 -shared and -lm; libs are
// extra linker arguments ("-lpthread", "/path/lib.a"). The file is named by
// a hash of its inputs, so the same objects give the same path.
func (t *Toolchain) SharedObject(ctx context.Context, dir string, objs [][]byte, libs ...string) (string, error) {
	if len(objs) == 0 {
		return "", fmt.Errorf("clc: SharedObject: no objects")
	}
	tmp, done, err := workDir()
	if err != nil {
		return "", err
	}
	defer done()
	h := sha256.New()
	files := map[string][]byte{}
	var inputs []string
	for i, o := range objs {
		name := fmt.Sprintf("o%d.o", i)
		files[name] = o
		inputs = append(inputs, name)
		fmt.Fprintf(h, "%d:", len(o))
		h.Write(o)
	}
	for _, l := range libs {
		fmt.Fprintf(h, "lib:%s\x00", l)
	}
	if err := writeInputs(tmp, files); err != nil {
		return "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(absDir, "k-"+hex.EncodeToString(h.Sum(nil))[:16]+".so")
	// Link to a temporary name and rename: a process that dlopen'ed an
	// older file of that name keeps its mapping.
	partial := filepath.Join(tmp, "out.so")
	args := append([]string{"-shared", "-fPIC", "-o", partial}, inputs...)
	args = append(append(args, libs...), "-lm")
	if _, err := t.run(ctx, tmp, t.ClangPath, args...); err != nil {
		return "", err
	}
	data, err := os.ReadFile(partial)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(absDir, ".so-*")
	if err != nil {
		return "", fmt.Errorf("clc: SharedObject: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o755)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), out)
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("clc: SharedObject: %w", werr)
	}
	return out, nil
}
