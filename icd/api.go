package icd

/*
#cgo CFLAGS: -Werror=incompatible-pointer-types -Werror=int-conversion -Werror=implicit-function-declaration
#include "icd.h"
#include <CL/cl_ext.h>
*/
import "C"

import (
	"slices"
	"unsafe"
)

// The platform, device, context and queue calls, as the C dispatch layer
// (dispatch.c) calls them (programs, kernels, launches, events and SVM have
// files of their own): handles are unsafe.Pointers the layer passes on
// unread, and every one is looked up in the registry before it is used.

//export svmrt_go_valid
func svmrt_go_valid(kind C.int, h unsafe.Pointer) C.int {
	if valid(Kind(kind), h) {
		return 1
	}
	return 0
}

//export svmrt_go_retain
func svmrt_go_retain(kind C.int, h unsafe.Pointer) C.cl_int { return retain(Kind(kind), h) }

//export svmrt_go_release
func svmrt_go_release(kind C.int, h unsafe.Pointer) C.cl_int { return release(Kind(kind), h) }

// listOut returns handles to a clGet*IDs caller.
func listOut(hs []unsafe.Pointer, n C.cl_uint, out *unsafe.Pointer, num *C.cl_uint) {
	if out != nil {
		copy(unsafe.Slice(out, int(n)), hs)
	}
	if num != nil {
		*num = C.cl_uint(len(hs))
	}
}

//export svmrt_go_platform_ids
func svmrt_go_platform_ids(n C.cl_uint, out *unsafe.Pointer, num *C.cl_uint) C.cl_int {
	if (n == 0 && out != nil) || (out == nil && num == nil) {
		return C.CL_INVALID_VALUE
	}
	p := getPlatform()
	if p.h == nil {
		return C.CL_OUT_OF_HOST_MEMORY
	}
	listOut([]unsafe.Pointer{p.h}, n, out, num)
	return C.CL_SUCCESS
}

// platformOf resolves a platform argument: the platform, or nil. NULL names
// the only platform (the behaviour is implementation-defined).
func platformOf(h unsafe.Pointer) *platform {
	p := getPlatform()
	if h == nil || (p.h != nil && h == p.h) {
		return p
	}
	return nil
}

//export svmrt_go_platform_info
func svmrt_go_platform_info(h unsafe.Pointer, name C.cl_platform_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	p := platformOf(h)
	if p == nil {
		return C.CL_INVALID_PLATFORM
	}
	v, ok := platformInfo(p, name)
	if !ok {
		return C.CL_INVALID_VALUE
	}
	return writeInfo(v, size, out, ret)
}

const allDeviceTypes = C.CL_DEVICE_TYPE_DEFAULT | C.CL_DEVICE_TYPE_CPU | C.CL_DEVICE_TYPE_GPU |
	C.CL_DEVICE_TYPE_ACCELERATOR | C.CL_DEVICE_TYPE_CUSTOM

// devicesOfType returns the devices of type t, or an error code.
func devicesOfType(t C.cl_device_type) ([]*device, C.cl_int) {
	if t != C.CL_DEVICE_TYPE_ALL && (t == 0 || t&^allDeviceTypes != 0) {
		return nil, C.CL_INVALID_DEVICE_TYPE
	}
	if t&(C.CL_DEVICE_TYPE_GPU|C.CL_DEVICE_TYPE_DEFAULT) == 0 {
		return nil, C.CL_DEVICE_NOT_FOUND
	}
	d := getDevice()
	if d == nil {
		return nil, C.CL_DEVICE_NOT_FOUND
	}
	return []*device{d}, C.CL_SUCCESS
}

//export svmrt_go_device_ids
func svmrt_go_device_ids(ph unsafe.Pointer, t C.cl_device_type, n C.cl_uint, out *unsafe.Pointer, num *C.cl_uint) C.cl_int {
	if platformOf(ph) == nil {
		return C.CL_INVALID_PLATFORM
	}
	if (n == 0 && out != nil) || (out == nil && num == nil) {
		return C.CL_INVALID_VALUE
	}
	ds, code := devicesOfType(t)
	if code != C.CL_SUCCESS {
		return code
	}
	hs := make([]unsafe.Pointer, len(ds))
	for i, d := range ds {
		hs[i] = d.h
	}
	listOut(hs, n, out, num)
	return C.CL_SUCCESS
}

// deviceOf returns the device h names, or nil.
func deviceOf(h unsafe.Pointer) *device {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	d, _ := lookupLocked(KindDevice, h).(*device)
	return d
}

//export svmrt_go_device_info
func svmrt_go_device_info(h unsafe.Pointer, name C.cl_device_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	d := deviceOf(h)
	if d == nil {
		return C.CL_INVALID_DEVICE
	}
	v, ok := deviceInfo(d, name)
	if !ok {
		return C.CL_INVALID_VALUE
	}
	return writeInfo(v, size, out, ret)
}

func setErr(errRet *C.cl_int, code C.cl_int) {
	if errRet != nil {
		*errRet = code
	}
}

// contextProps checks a context's property list and returns a copy of it
// with its terminating 0 (nil for NULL).
func contextProps(props *C.cl_context_properties) ([]C.cl_context_properties, C.cl_int) {
	if props == nil {
		return nil, C.CL_SUCCESS
	}
	var list []C.cl_context_properties
	seen := map[C.cl_context_properties]bool{}
	for p := props; ; {
		name := *p
		list = append(list, name)
		if name == 0 {
			return list, C.CL_SUCCESS
		}
		if seen[name] {
			return nil, C.CL_INVALID_PROPERTY
		}
		seen[name] = true
		p = (*C.cl_context_properties)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p)))
		value := *p
		list = append(list, value)
		switch name {
		case C.CL_CONTEXT_PLATFORM:
			if p := getPlatform(); value == 0 || uintptr(value) != uintptr(p.h) {
				return nil, C.CL_INVALID_PLATFORM
			}
		case C.CL_CONTEXT_INTEROP_USER_SYNC:
			if value != C.CL_TRUE && value != C.CL_FALSE {
				return nil, C.CL_INVALID_PROPERTY
			}
		default:
			// Interop properties (GL, EGL, D3D) and unknown names: the
			// device shares with no other API.
			return nil, C.CL_INVALID_PROPERTY
		}
		p = (*C.cl_context_properties)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p)))
	}
}

//export svmrt_go_create_context
func svmrt_go_create_context(props *C.cl_context_properties, ndev C.cl_uint, devs *unsafe.Pointer, byType C.int, t C.cl_device_type,
	notify, userData unsafe.Pointer, errRet *C.cl_int) unsafe.Pointer {
	list, code := contextProps(props)
	if code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	if notify == nil && userData != nil {
		setErr(errRet, C.CL_INVALID_VALUE)
		return nil
	}
	var ds []*device
	if byType != 0 {
		if ds, code = devicesOfType(t); code != C.CL_SUCCESS {
			setErr(errRet, code)
			return nil
		}
	} else {
		if ndev == 0 || devs == nil {
			setErr(errRet, C.CL_INVALID_VALUE)
			return nil
		}
		for _, h := range unsafe.Slice(devs, int(ndev)) {
			d := deviceOf(h)
			if d == nil {
				setErr(errRet, C.CL_INVALID_DEVICE)
				return nil
			}
			if !slices.Contains(ds, d) { // duplicates are ignored
				ds = append(ds, d)
			}
		}
	}
	reg.mu.Lock()
	c := &context{refs: 1, devices: ds, props: list, notify: notify, userData: userData}
	c.h = newHandleLocked(c)
	reg.mu.Unlock()
	if c.h == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	setErr(errRet, C.CL_SUCCESS)
	return c.h
}

func contextOfLocked(h unsafe.Pointer) *context {
	c, _ := lookupLocked(KindContext, h).(*context)
	return c
}

//export svmrt_go_context_info
func svmrt_go_context_info(h unsafe.Pointer, name C.cl_context_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	c := contextOfLocked(h)
	if c == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_CONTEXT
	}
	var v []byte
	switch name {
	case C.CL_CONTEXT_REFERENCE_COUNT:
		v = u32(uint32(c.refs))
	case C.CL_CONTEXT_NUM_DEVICES:
		v = u32(uint32(len(c.devices)))
	case C.CL_CONTEXT_DEVICES:
		for _, d := range c.devices {
			v = append(v, ptrs(d.h)...)
		}
	case C.CL_CONTEXT_PROPERTIES:
		for _, p := range c.props {
			v = u64Append(v, uint64(p))
		}
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

func u64Append(b []byte, v uint64) []byte { return append(b, u64(v)...) }

//export svmrt_go_context_destructor
func svmrt_go_context_destructor(h, fn, userData unsafe.Pointer) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	c := contextOfLocked(h)
	if c == nil {
		return C.CL_INVALID_CONTEXT
	}
	if fn == nil {
		return C.CL_INVALID_VALUE
	}
	c.destructors = append(c.destructors, callback{fn, userData})
	return C.CL_SUCCESS
}

// Queue properties a host queue may name at all (valid bits), of which the
// device supports hostQueueProps.
const queuePropBits = C.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | C.CL_QUEUE_PROFILING_ENABLE |
	C.CL_QUEUE_ON_DEVICE | C.CL_QUEUE_ON_DEVICE_DEFAULT

// queueProps checks the properties of a new queue.
func queueProps(p C.cl_command_queue_properties, legacy bool) C.cl_int {
	valid := C.cl_command_queue_properties(queuePropBits)
	if legacy { // clCreateCommandQueue knows no on-device queues
		valid = C.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | C.CL_QUEUE_PROFILING_ENABLE
	}
	if p&^valid != 0 {
		return C.CL_INVALID_VALUE
	}
	if p&C.CL_QUEUE_ON_DEVICE_DEFAULT != 0 && p&C.CL_QUEUE_ON_DEVICE == 0 {
		return C.CL_INVALID_VALUE
	}
	if p&C.CL_QUEUE_ON_DEVICE != 0 && p&C.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE == 0 {
		return C.CL_INVALID_VALUE // an on-device queue must be out of order
	}
	if p&^C.cl_command_queue_properties(hostQueueProps) != 0 {
		return C.CL_INVALID_QUEUE_PROPERTIES
	}
	return C.CL_SUCCESS
}

//export svmrt_go_create_queue
func svmrt_go_create_queue(ch, dh unsafe.Pointer, props *C.cl_queue_properties, legacy C.int, legacyProps C.cl_command_queue_properties,
	errRet *C.cl_int) unsafe.Pointer {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	c := contextOfLocked(ch)
	if c == nil {
		setErr(errRet, C.CL_INVALID_CONTEXT)
		return nil
	}
	d, _ := lookupLocked(KindDevice, dh).(*device)
	if d == nil || !slices.Contains(c.devices, d) {
		setErr(errRet, C.CL_INVALID_DEVICE)
		return nil
	}
	qp := legacyProps
	var list []C.cl_queue_properties
	if legacy == 0 && props != nil {
		seen := map[C.cl_queue_properties]bool{}
		qp = 0
		for p := props; ; {
			name := *p
			list = append(list, name)
			if name == 0 {
				break
			}
			if seen[name] {
				setErr(errRet, C.CL_INVALID_VALUE)
				return nil
			}
			seen[name] = true
			p = (*C.cl_queue_properties)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p)))
			value := *p
			list = append(list, value)
			switch name {
			case C.CL_QUEUE_PROPERTIES:
				qp = C.cl_command_queue_properties(value)
			case C.CL_QUEUE_SIZE:
				// Only for on-device queues, checked below.
			default:
				setErr(errRet, C.CL_INVALID_VALUE)
				return nil
			}
			p = (*C.cl_queue_properties)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p)))
		}
		if seen[C.CL_QUEUE_SIZE] && qp&C.CL_QUEUE_ON_DEVICE == 0 {
			setErr(errRet, C.CL_INVALID_VALUE)
			return nil
		}
	}
	if code := queueProps(qp, legacy != 0); code != C.CL_SUCCESS {
		setErr(errRet, code)
		return nil
	}
	q := &queue{refs: 1, ctx: c, dev: d, props: qp, propsArray: list}
	q.h = newHandleLocked(q)
	if q.h == nil {
		setErr(errRet, C.CL_OUT_OF_HOST_MEMORY)
		return nil
	}
	c.deps++
	setErr(errRet, C.CL_SUCCESS)
	return q.h
}

func queueOfLocked(h unsafe.Pointer) *queue {
	q, _ := lookupLocked(KindQueue, h).(*queue)
	return q
}

//export svmrt_go_queue_info
func svmrt_go_queue_info(h unsafe.Pointer, name C.cl_command_queue_info, size C.size_t, out unsafe.Pointer, ret *C.size_t) C.cl_int {
	reg.mu.Lock()
	q := queueOfLocked(h)
	if q == nil {
		reg.mu.Unlock()
		return C.CL_INVALID_COMMAND_QUEUE
	}
	var v []byte
	switch name {
	case C.CL_QUEUE_CONTEXT:
		v = ptrs(q.ctx.h)
	case C.CL_QUEUE_DEVICE:
		v = ptrs(q.dev.h)
	case C.CL_QUEUE_REFERENCE_COUNT:
		v = u32(uint32(q.refs))
	case C.CL_QUEUE_PROPERTIES:
		v = u64(uint64(q.props))
	case C.CL_QUEUE_PROPERTIES_ARRAY:
		for _, p := range q.propsArray {
			v = u64Append(v, uint64(p))
		}
	case C.CL_QUEUE_DEVICE_DEFAULT:
		v = ptrs(nil) // the device has no device-side enqueue
	case C.CL_QUEUE_SIZE:
		// Only on-device queues have a size.
		reg.mu.Unlock()
		return C.CL_INVALID_COMMAND_QUEUE
	default:
		reg.mu.Unlock()
		return C.CL_INVALID_VALUE
	}
	reg.mu.Unlock()
	return writeInfo(v, size, out, ret)
}

//export svmrt_go_set_queue_property
func svmrt_go_set_queue_property(h unsafe.Pointer, props C.cl_command_queue_properties, enable C.cl_bool,
	old *C.cl_command_queue_properties) C.cl_int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	q := queueOfLocked(h)
	if q == nil {
		return C.CL_INVALID_COMMAND_QUEUE
	}
	if props&^(C.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE|C.CL_QUEUE_PROFILING_ENABLE) != 0 {
		return C.CL_INVALID_VALUE
	}
	if enable != 0 && props&^C.cl_command_queue_properties(hostQueueProps) != 0 {
		return C.CL_INVALID_QUEUE_PROPERTIES
	}
	if old != nil {
		*old = q.props
	}
	if enable != 0 {
		q.props |= props
	} else {
		q.props &^= props
	}
	return C.CL_SUCCESS
}
