package runtime

import "strings"

// CommandError is the error of a command (a launch, a memory command,
// Close) on a device: what failed, on which device, and why. Its message
// says the command and the device once: the phrases a backend or the
// address space put in their own errors to name them ("opencl: launch k
// on opencl:0: ", "svm: simgpu: ") are left out of Err's text, which is
// otherwise kept whole. errors.Is and errors.As see through it to Err.
type CommandError struct {
	Op     string // "launch saxpy", "memcpy", "close", ...
	Device string // the device's name
	kind   string // its backend kind: the package prefix of the backend's errors
	Err    error
}

func (e *CommandError) Error() string {
	msg := e.Err.Error()
	for _, r := range []string{
		e.kind + ": " + e.Op + " on " + e.Device + ": ", // opencl: launch k on opencl:0:
		e.kind + ": " + e.Op + " " + e.Device + ": ",    // simgpu: close simgpu:
		e.kind + ": " + e.Device + ": ",                 // simgpu: simgpu:
		e.kind + ": " + e.Op + ": ",                     // cpu: launch:
		"svm: " + e.Device + ": ",                       // a FaultError's prefix
	} {
		msg = strings.ReplaceAll(msg, r, "")
	}
	return "runtime: " + e.Op + " on " + e.Device + ": " + msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// fail wraps err as the error of command op on d.
func (d *Device) fail(op string, err error) error {
	return &CommandError{Op: op, Device: d.Name(), kind: d.kind, Err: err}
}
