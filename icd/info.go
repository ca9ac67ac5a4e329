package icd

/*
#include "icd.h"
#include <CL/cl_ext.h>
*/
import "C"

import (
	"encoding/binary"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/kernels"
)

// What the platform and its device say about themselves. Every value comes
// from what svmrt implements (see the package doc for each one's source).

// PlatformName is CL_PLATFORM_NAME, the name clinfo lists the platform by.
const PlatformName = "svmrt"

// Vendor is CL_PLATFORM_VENDOR and CL_DEVICE_VENDOR.
const Vendor = "svmrt"

// ICDSuffix is CL_PLATFORM_ICD_SUFFIX_KHR: the loader sends
// clGetExtensionFunctionAddress names that end with it to this platform.
const ICDSuffix = "SVMRT"

// Version is the OpenCL version the platform and the device report.
var Version = [2]uint32{3, 0}

// ConformanceVersion is CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED: no
// Khronos conformance submission has been made, which the form reserves
// "v0000-01-01-00" for.
const ConformanceVersion = "v0000-01-01-00"

// CVersions are the OpenCL C versions the device's compiler accepts
// (-cl-std=CL1.2, CL2.0, CL3.0: internal/clc).
var CVersions = [][2]uint32{{1, 2}, {2, 0}, {3, 0}}

// Extensions are the device's extensions: the cl_khr_* entries of the
// compiler's feature list (clc.FeatureMacros), which the device library
// implements.
func Extensions() []string {
	var ext []string
	for _, m := range clc.FeatureMacros {
		if strings.HasPrefix(m, "cl_khr_") {
			ext = append(ext, m)
		}
	}
	return ext
}

// CFeatures are the OpenCL C 3.0 optional features the device supports
// (CL_DEVICE_OPENCL_C_FEATURES): the __opencl_c_* entries of the compiler's
// feature list, and the two atomic scopes the device library defines
// (memory is coherent at device and all-devices scope).
func CFeatures() []string {
	var f []string
	for _, m := range clc.FeatureMacros {
		if strings.HasPrefix(m, "__opencl_c_") {
			f = append(f, m)
		}
	}
	return append(f, "__opencl_c_atomic_scope_device", "__opencl_c_atomic_scope_all_devices")
}

// PlatformExtensions are the platform's extensions.
var PlatformExtensions = []string{"cl_khr_icd"}

// Program-scope global variables: the OpenCL 2.0 minimum, which the device
// meets (they live in the kernel module's data, mirrored to the device).
const maxGlobalVariableSize = 64 << 10

// Kernel arguments: the OpenCL minimum for a full-profile device
// (CL_DEVICE_MAX_PARAMETER_SIZE, CL_DEVICE_MAX_CONSTANT_ARGS), which the
// device meets; arguments are passed by the trampolines with no smaller limit.
const (
	maxParameterSize = 1024
	maxConstantArgs  = 8
)

// memBaseAddrAlign is CL_DEVICE_MEM_BASE_ADDR_ALIGN in bits: the size of the
// largest built-in type, long16 (128 bytes).
const memBaseAddrAlign = 128 * 8

func makeVersion(major, minor, patch uint32) uint32 {
	return (major&0x3ff)<<22 | (minor&0x3ff)<<12 | patch&0xfff
}

// driverVersion is CL_DRIVER_VERSION: the module version and commit the
// library was built from.
var driverVersion = sync.OnceValue(func() string {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	return "svmrt " + v + rev
})

// compilerAvailable reports whether the device's OpenCL C compiler (the
// LLVM 15 toolchain) is installed.
var compilerAvailable = sync.OnceValue(func() bool {
	_, err := clc.FindToolchain()
	return err == nil
})

// Value encoders: the bytes a query returns, in host order (little-endian:
// svmrt runs on x86-64).

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func sizeT(v uint64) []byte {
	return u64(v) // size_t is 64 bits here
}
func boolean(b bool) []byte {
	if b {
		return u32(C.CL_TRUE)
	}
	return u32(C.CL_FALSE)
}
func str(s string) []byte { return append([]byte(s), 0) }
func ptrs(ps ...unsafe.Pointer) []byte {
	var b []byte
	for _, p := range ps {
		b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(p)))
	}
	return b
}
func sizes(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// nameVersions encodes cl_name_version entries (a cl_version, then the name
// in 64 bytes).
func nameVersions(names []string, version uint32) []byte {
	var b []byte
	for _, n := range names {
		b = binary.LittleEndian.AppendUint32(b, version)
		var name [C.CL_NAME_VERSION_MAX_NAME_SIZE]byte
		copy(name[:len(name)-1], n)
		b = append(b, name[:]...)
	}
	return b
}

// writeInfo returns v to a clGet*Info caller: CL_INVALID_VALUE when the
// caller's buffer is too small, the size when asked.
func writeInfo(v []byte, size C.size_t, out unsafe.Pointer, sizeRet *C.size_t) C.cl_int {
	if out != nil {
		if uint64(size) < uint64(len(v)) {
			return C.CL_INVALID_VALUE
		}
		copy(unsafe.Slice((*byte)(out), len(v)), v)
	}
	if sizeRet != nil {
		*sizeRet = C.size_t(len(v))
	}
	return C.CL_SUCCESS
}

func platformInfo(p *platform, name C.cl_platform_info) ([]byte, bool) {
	switch name {
	case C.CL_PLATFORM_PROFILE:
		return str("FULL_PROFILE"), true
	case C.CL_PLATFORM_VERSION:
		return str(versionString("OpenCL", Version) + " svmrt"), true
	case C.CL_PLATFORM_NUMERIC_VERSION:
		return u32(makeVersion(Version[0], Version[1], 0)), true
	case C.CL_PLATFORM_NAME:
		return str(PlatformName), true
	case C.CL_PLATFORM_VENDOR:
		return str(Vendor), true
	case C.CL_PLATFORM_EXTENSIONS:
		return str(strings.Join(PlatformExtensions, " ")), true
	case C.CL_PLATFORM_EXTENSIONS_WITH_VERSION:
		return nameVersions(PlatformExtensions, makeVersion(1, 0, 0)), true
	case C.CL_PLATFORM_HOST_TIMER_RESOLUTION:
		// No device and host timer synchronisation (clGetHostTimer).
		return u64(0), true
	case C.CL_PLATFORM_ICD_SUFFIX_KHR:
		return str(ICDSuffix), true
	}
	return nil, false
}

func versionString(prefix string, v [2]uint32) string {
	return prefix + " " + itoa(v[0]) + "." + itoa(v[1])
}

func itoa(v uint32) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + itoa(v%10)
}

// Queue properties a host queue of the device accepts: in order only,
// profiling allowed.
const hostQueueProps = C.CL_QUEUE_PROFILING_ENABLE

// Atomic memory orders and scopes of device atomics and fences: every
// order and scope of OpenCL C 3.0 (memory is coherent: all-devices scope is
// fine-grained system SVM's).
const atomicCaps = C.CL_DEVICE_ATOMIC_ORDER_RELAXED | C.CL_DEVICE_ATOMIC_ORDER_ACQ_REL | C.CL_DEVICE_ATOMIC_ORDER_SEQ_CST |
	C.CL_DEVICE_ATOMIC_SCOPE_WORK_ITEM | C.CL_DEVICE_ATOMIC_SCOPE_WORK_GROUP | C.CL_DEVICE_ATOMIC_SCOPE_DEVICE |
	C.CL_DEVICE_ATOMIC_SCOPE_ALL_DEVICES

// SVMCaps is CL_DEVICE_SVM_CAPABILITIES.
const SVMCaps = C.CL_DEVICE_SVM_COARSE_GRAIN_BUFFER | C.CL_DEVICE_SVM_FINE_GRAIN_BUFFER |
	C.CL_DEVICE_SVM_FINE_GRAIN_SYSTEM | C.CL_DEVICE_SVM_ATOMICS

// deviceInfo answers clGetDeviceInfo; false for a name it does not know.
func deviceInfo(d *device, name C.cl_device_info) ([]byte, bool) {
	cm := d.sim.CostModel()
	mem := uint64(d.dev.Info().Caps.MemoryBytes)
	maxGroup := uint64(min(kernels.MaxWorkGroupSize, cm.ThreadsPerSM))
	switch name {
	case C.CL_DEVICE_TYPE:
		return u64(C.CL_DEVICE_TYPE_GPU), true
	case C.CL_DEVICE_VENDOR_ID:
		return u32(0), true // no PCI or Khronos vendor id
	case C.CL_DEVICE_MAX_COMPUTE_UNITS:
		return u32(uint32(cm.SMCount)), true
	case C.CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS:
		return u32(3), true
	case C.CL_DEVICE_MAX_WORK_GROUP_SIZE:
		return sizeT(maxGroup), true
	case C.CL_DEVICE_MAX_WORK_ITEM_SIZES:
		return sizes(maxGroup, maxGroup, maxGroup), true
	case C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_CHAR, C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_SHORT,
		C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT, C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_LONG,
		C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE,
		C.CL_DEVICE_NATIVE_VECTOR_WIDTH_CHAR, C.CL_DEVICE_NATIVE_VECTOR_WIDTH_SHORT,
		C.CL_DEVICE_NATIVE_VECTOR_WIDTH_INT, C.CL_DEVICE_NATIVE_VECTOR_WIDTH_LONG,
		C.CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, C.CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE:
		// Scalar work-items in SIMT warps: a vector is one lane's loop.
		return u32(1), true
	case C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_HALF, C.CL_DEVICE_NATIVE_VECTOR_WIDTH_HALF:
		return u32(0), true // no cl_khr_fp16
	case C.CL_DEVICE_MAX_CLOCK_FREQUENCY:
		// The cost model charges time per event, not per cycle: there is
		// no core clock.
		return u32(0), true
	case C.CL_DEVICE_ADDRESS_BITS:
		return u32(64), true
	case C.CL_DEVICE_MAX_MEM_ALLOC_SIZE, C.CL_DEVICE_GLOBAL_MEM_SIZE, C.CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE:
		// One allocation, or a __constant argument, may be as large as the
		// simulated VRAM (larger ones still run, by eviction).
		return u64(mem), true
	case C.CL_DEVICE_IMAGE_SUPPORT:
		return boolean(false), true
	case C.CL_DEVICE_MAX_READ_IMAGE_ARGS, C.CL_DEVICE_MAX_WRITE_IMAGE_ARGS, C.CL_DEVICE_MAX_READ_WRITE_IMAGE_ARGS,
		C.CL_DEVICE_MAX_SAMPLERS, C.CL_DEVICE_IMAGE_PITCH_ALIGNMENT, C.CL_DEVICE_IMAGE_BASE_ADDRESS_ALIGNMENT:
		return u32(0), true
	case C.CL_DEVICE_IMAGE2D_MAX_WIDTH, C.CL_DEVICE_IMAGE2D_MAX_HEIGHT, C.CL_DEVICE_IMAGE3D_MAX_WIDTH,
		C.CL_DEVICE_IMAGE3D_MAX_HEIGHT, C.CL_DEVICE_IMAGE3D_MAX_DEPTH, C.CL_DEVICE_IMAGE_MAX_BUFFER_SIZE,
		C.CL_DEVICE_IMAGE_MAX_ARRAY_SIZE:
		return sizeT(0), true
	case C.CL_DEVICE_MAX_PARAMETER_SIZE:
		return sizeT(maxParameterSize), true
	case C.CL_DEVICE_MEM_BASE_ADDR_ALIGN:
		return u32(memBaseAddrAlign), true
	case C.CL_DEVICE_MIN_DATA_TYPE_ALIGN_SIZE:
		return u32(memBaseAddrAlign / 8), true
	case C.CL_DEVICE_SINGLE_FP_CONFIG:
		// IEEE single precision as the host executes it: denormals, inf
		// and NaN, round to nearest, fused multiply-add (fma).
		return u64(C.CL_FP_DENORM | C.CL_FP_INF_NAN | C.CL_FP_ROUND_TO_NEAREST | C.CL_FP_FMA), true
	case C.CL_DEVICE_DOUBLE_FP_CONFIG:
		// The minimum OpenCL requires of a device with doubles: besides
		// the single precision set, round to zero and to ±infinity,
		// which the host's FPU that runs the kernels implements (and the
		// builtins' _rtz/_rtp/_rtn conversions use).
		return u64(C.CL_FP_DENORM | C.CL_FP_INF_NAN | C.CL_FP_ROUND_TO_NEAREST | C.CL_FP_ROUND_TO_ZERO |
			C.CL_FP_ROUND_TO_INF | C.CL_FP_FMA), true
	case C.CL_DEVICE_GLOBAL_MEM_CACHE_TYPE:
		return u32(C.CL_NONE), true // the simulator models TLBs, not data caches
	case C.CL_DEVICE_GLOBAL_MEM_CACHELINE_SIZE:
		return u32(0), true
	case C.CL_DEVICE_GLOBAL_MEM_CACHE_SIZE:
		return u64(0), true
	case C.CL_DEVICE_MAX_CONSTANT_ARGS:
		return u32(maxConstantArgs), true
	case C.CL_DEVICE_LOCAL_MEM_TYPE:
		return u32(C.CL_LOCAL), true
	case C.CL_DEVICE_LOCAL_MEM_SIZE:
		return u64(simgpu.DefaultLocalMemory), true
	case C.CL_DEVICE_ERROR_CORRECTION_SUPPORT:
		return boolean(false), true
	case C.CL_DEVICE_PROFILING_TIMER_RESOLUTION:
		return sizeT(1), true // the simulated clock counts nanoseconds
	case C.CL_DEVICE_ENDIAN_LITTLE:
		return boolean(true), true
	case C.CL_DEVICE_AVAILABLE:
		return boolean(true), true
	case C.CL_DEVICE_COMPILER_AVAILABLE, C.CL_DEVICE_LINKER_AVAILABLE:
		return boolean(compilerAvailable()), true
	case C.CL_DEVICE_EXECUTION_CAPABILITIES:
		return u64(C.CL_EXEC_KERNEL), true
	case C.CL_DEVICE_QUEUE_ON_HOST_PROPERTIES:
		return u64(hostQueueProps), true
	case C.CL_DEVICE_QUEUE_ON_DEVICE_PROPERTIES:
		return u64(0), true
	case C.CL_DEVICE_QUEUE_ON_DEVICE_PREFERRED_SIZE, C.CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE,
		C.CL_DEVICE_MAX_ON_DEVICE_QUEUES, C.CL_DEVICE_MAX_ON_DEVICE_EVENTS:
		return u32(0), true
	case C.CL_DEVICE_NAME:
		return str(d.dev.Info().Name), true
	case C.CL_DEVICE_VENDOR:
		return str(Vendor), true
	case C.CL_DRIVER_VERSION:
		return str(driverVersion()), true
	case C.CL_DEVICE_PROFILE:
		return str("FULL_PROFILE"), true
	case C.CL_DEVICE_VERSION:
		return str(versionString("OpenCL", Version) + " svmrt simgpu"), true
	case C.CL_DEVICE_NUMERIC_VERSION:
		return u32(makeVersion(Version[0], Version[1], 0)), true
	case C.CL_DEVICE_OPENCL_C_VERSION:
		// The highest version supported in full: OpenCL C 2.0's pipes and
		// device-side enqueue are not.
		return str("OpenCL C 1.2 svmrt"), true
	case C.CL_DEVICE_OPENCL_C_ALL_VERSIONS:
		var b []byte
		for _, v := range CVersions {
			b = append(b, nameVersions([]string{"OpenCL C"}, makeVersion(v[0], v[1], 0))...)
		}
		return b, true
	case C.CL_DEVICE_OPENCL_C_FEATURES:
		return nameVersions(CFeatures(), makeVersion(3, 0, 0)), true
	case C.CL_DEVICE_EXTENSIONS:
		return str(strings.Join(Extensions(), " ")), true
	case C.CL_DEVICE_EXTENSIONS_WITH_VERSION:
		return nameVersions(Extensions(), makeVersion(1, 0, 0)), true
	case C.CL_DEVICE_PLATFORM:
		return ptrs(getPlatform().h), true
	case C.CL_DEVICE_HOST_UNIFIED_MEMORY:
		return boolean(false), true // the device has memory of its own
	case C.CL_DEVICE_BUILT_IN_KERNELS, C.CL_DEVICE_IL_VERSION:
		return str(""), true
	case C.CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION, C.CL_DEVICE_ILS_WITH_VERSION:
		return nil, true
	case C.CL_DEVICE_PARENT_DEVICE:
		return ptrs(nil), true
	case C.CL_DEVICE_PARTITION_MAX_SUB_DEVICES:
		return u32(0), true
	case C.CL_DEVICE_PARTITION_PROPERTIES, C.CL_DEVICE_PARTITION_TYPE:
		return u64(0), true // cl_device_partition_property is intptr_t
	case C.CL_DEVICE_PARTITION_AFFINITY_DOMAIN:
		return u64(0), true
	case C.CL_DEVICE_REFERENCE_COUNT:
		return u32(1), true // a root device
	case C.CL_DEVICE_PREFERRED_INTEROP_USER_SYNC:
		return boolean(true), true
	case C.CL_DEVICE_PRINTF_BUFFER_SIZE:
		return sizeT(0), true // printf is not supported
	case C.CL_DEVICE_MAX_GLOBAL_VARIABLE_SIZE, C.CL_DEVICE_GLOBAL_VARIABLE_PREFERRED_TOTAL_SIZE:
		return sizeT(maxGlobalVariableSize), true
	case C.CL_DEVICE_SVM_CAPABILITIES:
		return u64(SVMCaps), true
	case C.CL_DEVICE_MAX_PIPE_ARGS, C.CL_DEVICE_PIPE_MAX_ACTIVE_RESERVATIONS, C.CL_DEVICE_PIPE_MAX_PACKET_SIZE:
		return u32(0), true
	case C.CL_DEVICE_PREFERRED_PLATFORM_ATOMIC_ALIGNMENT, C.CL_DEVICE_PREFERRED_GLOBAL_ATOMIC_ALIGNMENT,
		C.CL_DEVICE_PREFERRED_LOCAL_ATOMIC_ALIGNMENT:
		return u32(0), true // natural alignment
	case C.CL_DEVICE_MAX_NUM_SUB_GROUPS:
		return u32(0), true
	case C.CL_DEVICE_SUB_GROUP_INDEPENDENT_FORWARD_PROGRESS:
		return boolean(false), true
	case C.CL_DEVICE_ATOMIC_MEMORY_CAPABILITIES, C.CL_DEVICE_ATOMIC_FENCE_CAPABILITIES:
		return u64(atomicCaps), true
	case C.CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT:
		return boolean(false), true // the global size must be a multiple of the local size
	case C.CL_DEVICE_PREFERRED_WORK_GROUP_SIZE_MULTIPLE:
		return sizeT(uint64(d.sim.WarpSize())), true
	case C.CL_DEVICE_WORK_GROUP_COLLECTIVE_FUNCTIONS_SUPPORT:
		return boolean(false), true
	case C.CL_DEVICE_GENERIC_ADDRESS_SPACE_SUPPORT:
		return boolean(true), true
	case C.CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES:
		return u64(0), true
	case C.CL_DEVICE_PIPE_SUPPORT:
		return boolean(false), true
	case C.CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED:
		return str(ConformanceVersion), true
	}
	return nil, false
}
