package devrt

// #cgo CFLAGS: -O2 -Wall -Wno-unused-function
// #cgo LDFLAGS: -ldl
// #include <dlfcn.h>
// #include <stdlib.h>
// #include "sched.h"
import "C"
