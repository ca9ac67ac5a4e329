package svm

import (
	"errors"
	"fmt"

	"github.com/svmrt/svmrt/internal/errdefs"
)

// Errors callers can match with errors.Is.
var (
	// ErrDeviceFault: a device touched an address with no usable mapping
	// (unmapped, PROT_NONE, beyond the address space, device memory itself).
	ErrDeviceFault = errors.New("device fault")
	// ErrPermission: a device wrote to memory mapped read-only.
	ErrPermission = errors.New("permission denied")
	// ErrOutOfDeviceMemory: the device has no free frame for a migration.
	ErrOutOfDeviceMemory = errors.New("out of device memory")
	// ErrNotSupported: the operation needs a capability this process or
	// device does not have (userfaultfd, migratable memory, ...).
	ErrNotSupported = errdefs.ErrNotSupported
	// ErrClosed: the device was closed (commands after Close, a second
	// Close), or a CPU fault log was stopped (Drain after Stop). The
	// backends and the runtime re-export it.
	ErrClosed = errdefs.ErrClosed
	// ErrInvalidValue: an argument is out of its domain (OpenCL's
	// CL_INVALID_VALUE and CL_MEM_COPY_OVERLAP: bad fill patterns,
	// overlapping copies).
	ErrInvalidValue = errors.New("invalid value")
	// ErrBusy: something that admits one user at a time is in use (a
	// second CPU fault log while one is on).
	ErrBusy = errors.New("busy")
	// ErrLogOverflow: a CPU fault log's ring filled up between two Drains
	// and entries were lost (LogOverflowError says how many).
	ErrLogOverflow = errors.New("log overflow")
)

// FaultError describes a failed device access: where, how, and why.
type FaultError struct {
	Device string  // device name
	Addr   uintptr // faulting address
	Write  bool
	Reason string // e.g. "no mapping", "PROT_NONE", "read-only mapping"
	// Err is ErrDeviceFault or ErrPermission, or ErrNotSupported for a
	// memory command writing the process's machinery (KindSystem).
	Err error
}

func (e *FaultError) Error() string {
	op := "read"
	if e.Write {
		op = "write"
	}
	return fmt.Sprintf("svm: %s: %s %s at %#x: %s", e.Device, e.Err, op, e.Addr, e.Reason)
}

func (e *FaultError) Unwrap() error { return e.Err }
