package clc

import (
	"fmt"
	"regexp"
	"strconv"
)

// globalVarRE matches the definition of a variable in the global address
// space: a program-scope __global variable ("@g = dso_local addrspace(1)
// global i32 0, align 4") or a function-scope static one ("@k.n = internal
// ... addrspace(1) global i64 0, align 8"). Group 1 is the linkage and
// attribute words before "addrspace(1)", group 2 everything after
// "global"/"constant": the type, the initializer and ", align N".
var globalVarRE = regexp.MustCompile(`(?m)^@(?:"[^"]+"|[-A-Za-z0-9_.$]+) = ([^\n]*?)\baddrspace\(1\) (?:global|constant) ([^\n]*)$`)

// externalRE finds a declaration (no storage in this module).
var externalRE = regexp.MustCompile(`\b(external|extern_weak)\b`)

// alignRE finds a definition's explicit alignment.
var alignRE = regexp.MustCompile(`, align (\d+)`)

// GlobalVariableBytes returns the storage, in bytes, that the variables of
// module text ll in the global address space take: every defined
// program-scope or function-scope static __global variable, each at its
// alignment after the one before, as a linker lays them out. It is what
// clGetProgramBuildInfo's CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE
// reports. Declarations (extern variables defined by another unit) take no
// storage here. A variable the optimizer removed (an unused static one)
// takes none either: the count is of what the built program holds.
func GlobalVariableBytes(ll string) (int, error) {
	layout := NewLayout(ll)
	total := 0
	for _, m := range globalVarRE.FindAllStringSubmatch(ll, -1) {
		if externalRE.MatchString(m[1]) {
			continue
		}
		size, align, err := layout.sizeAlignPrefix(m[2])
		if err != nil {
			return 0, fmt.Errorf("clc: global variable: %w", err)
		}
		if a := alignRE.FindStringSubmatch(m[2]); a != nil {
			if n, err := strconv.Atoi(a[1]); err == nil {
				align = max(align, n)
			}
		}
		total = alignTo(total, max(align, 1)) + size
	}
	return total, nil
}
