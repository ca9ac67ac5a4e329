package runtime

import (
	"fmt"
	"strings"

	"github.com/svmrt/svmrt/backends"
)

// DeviceNames lists the device kinds Open accepts here: "cpu", "simgpu", and "opencl" (its first device; "opencl:N" opens
// the N-th) when an OpenCL platform with a device is installed. Unavailable
// says why a kind is missing.
//
// Asking enumerates every kind's devices. For OpenCL that loads the
// implementation (PoCL and LLVM: tens of MiB, a few threads, and LLVM's
// crash handlers for the ~35 ms of its first enumeration, see the opencl
// package doc); a program that only opens "cpu" or "simgpu" never loads it.
func DeviceNames() []string {
	var names []string
	for _, drv := range backends.Drivers() {
		if devs, err := drv.Devices(); err == nil && len(devs) > 0 {
			names = append(names, drv.Name)
		}
	}
	return names
}

// Devices lists every device of every kind present here by the name Open
// takes ("cpu", "simgpu", "opencl:0", "opencl:1", ...), and for each kind
// with none the reason.
func Devices() (names []string, unavailable map[string]error) {
	unavailable = map[string]error{}
	for _, drv := range backends.Drivers() {
		devs, err := drv.Devices()
		if err == nil && len(devs) == 0 {
			err = fmt.Errorf("no %s device here: %w", drv.Name, ErrNotSupported)
		}
		if err != nil {
			unavailable[drv.Name] = err
			continue
		}
		names = append(names, devs...)
	}
	return names, unavailable
}

// Unavailable is nil when devices of kind ("opencl") can be opened here,
// else why not: an error wrapping ErrNotSupported (OpenCL: no ICD loader,
// no platform, no device), or ErrUnknownDevice for a kind no backend
// registered.
func Unavailable(kind string) error {
	drv, _, err := backends.Lookup(kind)
	if err != nil {
		return err
	}
	devs, err := drv.Devices()
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		return fmt.Errorf("no %s device here: %w", drv.Name, ErrNotSupported)
	}
	return nil
}

// PolicyNames lists the memory policies a device kind accepts (WithPolicy);
// nil for kinds without policies or unknown kinds.
func PolicyNames(kind string) []string {
	drv, _, err := backends.Lookup(kind)
	if err != nil {
		return nil
	}
	return policyNames(drv)
}

func policyNames(drv backends.Driver) []string {
	if drv.Policies == nil {
		return nil
	}
	return drv.Policies()
}

// knownPolicies says which policies a kind has, for errors.
func knownPolicies(drv backends.Driver) string {
	ps := policyNames(drv)
	if len(ps) == 0 {
		return drv.Name + " devices have no memory policies"
	}
	return drv.Name + " devices know " + strings.Join(ps, ", ")
}
