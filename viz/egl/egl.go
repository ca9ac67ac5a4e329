//go:build viz && cgo

package egl

/*
#cgo pkg-config: egl
#include <stdlib.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

// eglGetPlatformDisplay is EGL 1.5; libEGL (GLVND) exports it, and Mesa
// provides the surfaceless platform through it.
static EGLDisplay svmrt_surfaceless_display(void) {
	return eglGetPlatformDisplay(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
}

static EGLConfig svmrt_choose_config(EGLDisplay d, EGLint *n) {
	// RGBA8 and desktop OpenGL; the surface type is pbuffer only because
	// some configurations list no surface type at all, and such a config
	// is still usable surfaceless.
	static const EGLint attrs[] = {
		EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 8,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
		EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
		EGL_NONE,
	};
	EGLConfig c = NULL;
	if (!eglChooseConfig(d, attrs, &c, 1, n)) *n = -1;
	return c;
}

static EGLContext svmrt_create_context(EGLDisplay d, EGLConfig c, EGLint major, EGLint minor) {
	const EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, major, EGL_CONTEXT_MINOR_VERSION, minor,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	return eglCreateContext(d, c, EGL_NO_CONTEXT, attrs);
}

static EGLSurface svmrt_pbuffer(EGLDisplay d, EGLConfig c) {
	static const EGLint attrs[] = {EGL_WIDTH, 16, EGL_HEIGHT, 16, EGL_NONE};
	return eglCreatePbufferSurface(d, c, attrs);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Available reports whether this build has the EGL binding.
const Available = true

// ErrNotBuilt is never returned by this build.
var ErrNotBuilt error

// Context is a surfaceless EGL display with an OpenGL core-profile context
// current on the thread that opened it.
type Context struct {
	dpy     C.EGLDisplay
	ctx     C.EGLContext
	surf    C.EGLSurface // EGL_NO_SURFACE unless the display lacks KHR_surfaceless_context
	vendor  string
	version string
}

// Open initialises Mesa's surfaceless display and makes an OpenGL
// major.minor core-profile context current. The context is current on the
// calling OS thread, so Open locks the goroutine to it; Close unlocks it.
// Every GL call between Open and Close must come from that goroutine.
func Open(major, minor int) (*Context, error) {
	if !hasExtension(C.eglQueryString(C.EGLDisplay(C.EGL_NO_DISPLAY), C.EGL_EXTENSIONS), "EGL_MESA_platform_surfaceless") {
		return nil, fmt.Errorf("egl: the EGL library offers no EGL_MESA_platform_surfaceless (Mesa's libegl-mesa0 is needed)")
	}
	runtime.LockOSThread()
	c := &Context{surf: C.EGLSurface(C.EGL_NO_SURFACE)}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	c.dpy = C.svmrt_surfaceless_display()
	if c.dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
		return nil, lastError("eglGetPlatformDisplay(EGL_PLATFORM_SURFACELESS_MESA)")
	}
	var maj, min C.EGLint
	if C.eglInitialize(c.dpy, &maj, &min) == C.EGL_FALSE {
		c.dpy = C.EGLDisplay(C.EGL_NO_DISPLAY)
		return nil, lastError("eglInitialize")
	}
	c.vendor = C.GoString(C.eglQueryString(c.dpy, C.EGL_VENDOR))
	c.version = C.GoString(C.eglQueryString(c.dpy, C.EGL_VERSION))
	if C.eglBindAPI(C.EGL_OPENGL_API) == C.EGL_FALSE {
		return nil, lastError("eglBindAPI(EGL_OPENGL_API)")
	}
	var n C.EGLint
	cfg := C.svmrt_choose_config(c.dpy, &n)
	if n <= 0 {
		return nil, fmt.Errorf("egl: no RGBA8 desktop-OpenGL config on %s's surfaceless display (%v)", c.vendor, lastError("eglChooseConfig"))
	}
	c.ctx = C.svmrt_create_context(c.dpy, cfg, C.EGLint(major), C.EGLint(minor))
	if c.ctx == C.EGLContext(C.EGL_NO_CONTEXT) {
		return nil, lastError(fmt.Sprintf("eglCreateContext(OpenGL %d.%d core)", major, minor))
	}
	// Without KHR_surfaceless_context a context needs some surface to be
	// current; a tiny pbuffer serves, as drawing goes to a framebuffer
	// object anyway.
	if !hasExtension(C.eglQueryString(c.dpy, C.EGL_EXTENSIONS), "EGL_KHR_surfaceless_context") {
		c.surf = C.svmrt_pbuffer(c.dpy, cfg)
		if c.surf == C.EGLSurface(C.EGL_NO_SURFACE) {
			return nil, lastError("eglCreatePbufferSurface")
		}
	}
	if C.eglMakeCurrent(c.dpy, c.surf, c.surf, c.ctx) == C.EGL_FALSE {
		return nil, lastError("eglMakeCurrent")
	}
	ok = true
	return c, nil
}

// ProcAddress is eglGetProcAddress: the address of a GL (or EGL) entry
// point, core ones included (Mesa implements EGL_KHR_get_all_proc_addresses),
// or nil.
func ProcAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return unsafe.Pointer(C.eglGetProcAddress(cs))
}

// Vendor is the EGL implementation's vendor and version ("Mesa Project 1.5").
func (c *Context) Vendor() string { return strings.TrimSpace(c.vendor + " " + c.version) }

// Close releases the context and the display and unlocks the goroutine
// from its thread. It is safe on a partly opened Context.
func (c *Context) Close() {
	if c == nil {
		return
	}
	if c.dpy != C.EGLDisplay(C.EGL_NO_DISPLAY) {
		C.eglMakeCurrent(c.dpy, C.EGLSurface(C.EGL_NO_SURFACE), C.EGLSurface(C.EGL_NO_SURFACE), C.EGLContext(C.EGL_NO_CONTEXT))
		if c.ctx != C.EGLContext(C.EGL_NO_CONTEXT) {
			C.eglDestroyContext(c.dpy, c.ctx)
		}
		if c.surf != C.EGLSurface(C.EGL_NO_SURFACE) {
			C.eglDestroySurface(c.dpy, c.surf)
		}
		C.eglTerminate(c.dpy)
		C.eglReleaseThread()
		c.dpy = C.EGLDisplay(C.EGL_NO_DISPLAY)
		runtime.UnlockOSThread()
	}
}

func hasExtension(list *C.char, name string) bool {
	if list == nil {
		return false
	}
	for _, e := range strings.Fields(C.GoString(list)) {
		if e == name {
			return true
		}
	}
	return false
}

// lastError is eglGetError's code as an error naming the call that failed.
func lastError(call string) error {
	code := C.eglGetError()
	name, ok := errorNames[int(code)]
	if !ok {
		name = fmt.Sprintf("%#x", int(code))
	}
	return fmt.Errorf("egl: %s failed: %s", call, name)
}

var errorNames = map[int]string{
	C.EGL_SUCCESS:             "EGL_SUCCESS",
	C.EGL_NOT_INITIALIZED:     "EGL_NOT_INITIALIZED",
	C.EGL_BAD_ACCESS:          "EGL_BAD_ACCESS",
	C.EGL_BAD_ALLOC:           "EGL_BAD_ALLOC",
	C.EGL_BAD_ATTRIBUTE:       "EGL_BAD_ATTRIBUTE",
	C.EGL_BAD_CONFIG:          "EGL_BAD_CONFIG",
	C.EGL_BAD_CONTEXT:         "EGL_BAD_CONTEXT",
	C.EGL_BAD_CURRENT_SURFACE: "EGL_BAD_CURRENT_SURFACE",
	C.EGL_BAD_DISPLAY:         "EGL_BAD_DISPLAY",
	C.EGL_BAD_MATCH:           "EGL_BAD_MATCH",
	C.EGL_BAD_NATIVE_PIXMAP:   "EGL_BAD_NATIVE_PIXMAP",
	C.EGL_BAD_NATIVE_WINDOW:   "EGL_BAD_NATIVE_WINDOW",
	C.EGL_BAD_PARAMETER:       "EGL_BAD_PARAMETER",
	C.EGL_BAD_SURFACE:         "EGL_BAD_SURFACE",
	C.EGL_CONTEXT_LOST:        "EGL_CONTEXT_LOST",
}
