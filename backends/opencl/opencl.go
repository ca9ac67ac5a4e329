package opencl

/*
#cgo CFLAGS: -O2 -Wall
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "clshim.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// ErrUnavailable wraps every reason OpenCL cannot be used here.
var ErrUnavailable = errors.New("opencl: backend unavailable")

// EnvLibrary overrides the ICD loader's path (tests point it at nothing).
const EnvLibrary = "SVMRT_OPENCL_LIB"

// SVMCaps are a device's CL_DEVICE_SVM_CAPABILITIES.
type SVMCaps struct {
	CoarseBuffer bool // CL_DEVICE_SVM_COARSE_GRAIN_BUFFER
	FineBuffer   bool // CL_DEVICE_SVM_FINE_GRAIN_BUFFER
	FineSystem   bool // CL_DEVICE_SVM_FINE_GRAIN_SYSTEM: raw host pointers work
	Atomics      bool // CL_DEVICE_SVM_ATOMICS
}

func (c SVMCaps) String() string {
	var s []string
	for _, f := range []struct {
		on   bool
		name string
	}{{c.CoarseBuffer, "coarse-buffer"}, {c.FineBuffer, "fine-buffer"}, {c.FineSystem, "fine-system"}, {c.Atomics, "atomics"}} {
		if f.on {
			s = append(s, f.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// DeviceInfo describes one OpenCL device.
type DeviceInfo struct {
	Platform      string // platform name
	PlatformIndex int
	Index         int // device index within the platform
	Name          string
	Vendor        string
	Version       string // CL_DEVICE_VERSION
	DriverVersion string
	CVersion      string // CL_DEVICE_OPENCL_C_VERSION
	// CVersions lists CL_DEVICE_OPENCL_C_ALL_VERSIONS (OpenCL 3.0), e.g.
	// ["1.0" "1.1" "1.2" "3.0"]; empty before 3.0.
	CVersions []string
	// CFeatures lists CL_DEVICE_OPENCL_C_FEATURES (OpenCL 3.0), e.g.
	// "__opencl_c_atomic_scope_device"; empty before 3.0.
	CFeatures        []string
	Type             string // cpu, gpu, accelerator, other
	ComputeUnits     int
	GlobalMem        uint64
	LocalMem         uint64 // CL_DEVICE_LOCAL_MEM_SIZE
	MaxWorkGroupSize int    // CL_DEVICE_MAX_WORK_GROUP_SIZE
	// MaxWorkItemSizes is CL_DEVICE_MAX_WORK_ITEM_SIZES: the largest
	// work-group extent per dimension (nil when the query fails).
	MaxWorkItemSizes []int
	AddressBits      int // CL_DEVICE_ADDRESS_BITS (svmrt needs 64)
	SVM              SVMCaps

	platform C.cl_platform_id
	device   C.cl_device_id
}

var (
	loadOnce sync.Once
	loadErr  error

	// devicesMu serialises enumerations (some ICDs are not reentrant
	// during platform discovery).
	devicesMu sync.Mutex
)

func load() error {
	loadOnce.Do(func() {
		var lib *C.char
		if p := os.Getenv(EnvLibrary); p != "" {
			lib = C.CString(p)
			defer C.free(unsafe.Pointer(lib))
		}
		var msg [512]C.char
		if C.clshim_load(lib, &msg[0], C.size_t(len(msg))) != 0 {
			loadErr = fmt.Errorf("%w: cannot load the OpenCL ICD loader: %s (install ocl-icd-libopencl1 and an ICD such as pocl-opencl-icd)",
				ErrUnavailable, C.GoString(&msg[0]))
		}
	})
	return loadErr
}

// Devices lists every device of every platform. With no loader, or a loader
// that finds no platform (no ICD installed, or OCL_ICD_VENDORS pointing at
// an empty directory), it returns an error wrapping ErrUnavailable.
func Devices() ([]DeviceInfo, error) {
	devicesMu.Lock()
	defer devicesMu.Unlock()
	if err := load(); err != nil {
		return nil, err
	}
	var np C.cl_uint
	if rc := C.clshim_platforms(0, nil, &np); rc != 0 || np == 0 {
		why := "the ICD loader found no OpenCL platform"
		if v := os.Getenv("OCL_ICD_VENDORS"); v != "" {
			why += " (OCL_ICD_VENDORS=" + v + ")"
		} else {
			why += " (no vendor file in /etc/OpenCL/vendors? install an ICD such as pocl-opencl-icd)"
		}
		if rc != 0 {
			why += ": " + clError("clGetPlatformIDs", rc).Error()
		}
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, why)
	}
	plats := make([]C.cl_platform_id, np)
	if rc := C.clshim_platforms(np, &plats[0], nil); rc != 0 {
		return nil, clError("clGetPlatformIDs", rc)
	}
	var out []DeviceInfo
	for pi, p := range plats {
		pname := platformString(p, C.SVMRT_CL_PLATFORM_NAME)
		var nd C.cl_uint
		if rc := C.clshim_devices(p, 0, nil, &nd); rc != 0 || nd == 0 {
			continue // a platform without devices (CL_DEVICE_NOT_FOUND)
		}
		devs := make([]C.cl_device_id, nd)
		if rc := C.clshim_devices(p, nd, &devs[0], nil); rc != 0 {
			return nil, clError("clGetDeviceIDs", rc)
		}
		for di, d := range devs {
			info := DeviceInfo{Platform: pname, PlatformIndex: pi, Index: di,
				Name:             deviceString(d, C.SVMRT_CL_DEVICE_NAME),
				Vendor:           deviceString(d, C.SVMRT_CL_DEVICE_VENDOR),
				Version:          deviceString(d, C.SVMRT_CL_DEVICE_VERSION),
				DriverVersion:    deviceString(d, C.SVMRT_CL_DRIVER_VERSION),
				CVersion:         deviceString(d, C.SVMRT_CL_DEVICE_OPENCL_C_VERSION),
				ComputeUnits:     int(deviceUint[C.cl_uint](d, C.SVMRT_CL_DEVICE_MAX_COMPUTE_UNITS)),
				GlobalMem:        uint64(deviceUint[C.cl_ulong](d, C.SVMRT_CL_DEVICE_GLOBAL_MEM_SIZE)),
				LocalMem:         uint64(deviceUint[C.cl_ulong](d, C.SVMRT_CL_DEVICE_LOCAL_MEM_SIZE)),
				AddressBits:      int(deviceUint[C.cl_uint](d, C.SVMRT_CL_DEVICE_ADDRESS_BITS)),
				MaxWorkGroupSize: int(deviceUint[C.cl_ulong](d, C.SVMRT_CL_DEVICE_MAX_WORK_GROUP_SIZE)),
				MaxWorkItemSizes: maxWorkItemSizes(d),
				CVersions:        nameVersions(d, C.SVMRT_CL_DEVICE_OPENCL_C_ALL_VERSIONS, true),
				CFeatures:        nameVersions(d, C.SVMRT_CL_DEVICE_OPENCL_C_FEATURES, false),
				platform:         p,
				device:           d,
			}
			switch t := deviceUint[C.cl_ulong](d, C.SVMRT_CL_DEVICE_TYPE); {
			case t&(1<<1) != 0:
				info.Type = "cpu"
			case t&(1<<2) != 0:
				info.Type = "gpu"
			case t&(1<<3) != 0:
				info.Type = "accelerator"
			default:
				info.Type = "other"
			}
			// Devices before OpenCL 2.0 do not know the query: no SVM.
			svm := deviceUint[C.cl_ulong](d, C.SVMRT_CL_DEVICE_SVM_CAPABILITIES)
			info.SVM = SVMCaps{CoarseBuffer: svm&1 != 0, FineBuffer: svm&2 != 0, FineSystem: svm&4 != 0, Atomics: svm&8 != 0}
			out = append(out, info)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %d OpenCL platform(s) but no device", ErrUnavailable, np)
	}
	return out, nil
}

func platformString(p C.cl_platform_id, param C.cl_uint) string {
	var n C.size_t
	if C.clshim_platform_info(p, param, 0, nil, &n) != 0 || n == 0 {
		return ""
	}
	buf := make([]byte, n)
	if C.clshim_platform_info(p, param, n, unsafe.Pointer(&buf[0]), nil) != 0 {
		return ""
	}
	return strings.TrimRight(string(buf), "\x00 ")
}

func deviceString(d C.cl_device_id, param C.cl_uint) string {
	var n C.size_t
	if C.clshim_device_info(d, param, 0, nil, &n) != 0 || n == 0 {
		return ""
	}
	buf := make([]byte, n)
	if C.clshim_device_info(d, param, n, unsafe.Pointer(&buf[0]), nil) != 0 {
		return ""
	}
	return strings.TrimRight(string(buf), "\x00 ")
}

// deviceUint reads a scalar device info value (0 when the query fails).
func deviceUint[T C.cl_uint | C.cl_ulong](d C.cl_device_id, param C.cl_uint) T {
	var v T
	if C.clshim_device_info(d, param, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v), nil) != 0 {
		return 0
	}
	return v
}

// maxWorkItemSizes reads CL_DEVICE_MAX_WORK_ITEM_SIZES (size_t per
// dimension, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS of them).
func maxWorkItemSizes(d C.cl_device_id) []int {
	dims := int(deviceUint[C.cl_uint](d, C.SVMRT_CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS))
	if dims <= 0 || dims > 16 {
		return nil
	}
	v := make([]C.size_t, dims)
	if C.clshim_device_info(d, C.SVMRT_CL_DEVICE_MAX_WORK_ITEM_SIZES, C.size_t(dims)*C.size_t(unsafe.Sizeof(v[0])), unsafe.Pointer(&v[0]), nil) != 0 {
		return nil
	}
	out := make([]int, dims)
	for i := range v {
		out[i] = int(v[i])
	}
	return out
}

// nameVersions reads an OpenCL 3.0 array of cl_name_version {cl_version
// version; char name[64]} (version packed as major<<22 | minor<<12 |
// patch): the versions ("3.0") when versions is set, else the names.
func nameVersions(d C.cl_device_id, param C.cl_uint, versions bool) []string {
	var n C.size_t
	if C.clshim_device_info(d, param, 0, nil, &n) != 0 || n == 0 {
		return nil
	}
	buf := make([]byte, n)
	if C.clshim_device_info(d, param, n, unsafe.Pointer(&buf[0]), nil) != 0 {
		return nil
	}
	const entry = 4 + 64
	var out []string
	for i := 0; i+entry <= len(buf); i += entry {
		if versions {
			v := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16 | uint32(buf[i+3])<<24
			out = append(out, fmt.Sprintf("%d.%d", v>>22, (v>>12)&0x3ff))
		} else {
			name := buf[i+4 : i+entry]
			if z := bytes.IndexByte(name, 0); z >= 0 {
				name = name[:z]
			}
			out = append(out, string(name))
		}
	}
	return out
}
