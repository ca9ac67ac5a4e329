// Package egl is the handful of EGL calls svmrt's residency picture needs to
// draw with OpenGL where there is no display: a surfaceless display (Mesa's
// EGL_MESA_platform_surfaceless, so no X server, no Wayland and no GPU
// device node are needed: Mesa falls back to its software rasteriser), a
// desktop OpenGL core-profile context current on the calling thread with
// no surface (EGL_KHR_surfaceless_context; the caller renders into a
// framebuffer object), and eglGetProcAddress for loading GL's entry points.
//
// It is a cgo binding to the system's libEGL (Debian's libegl-dev and
// libegl-mesa0, installed by scripts/setup.sh) and builds only with the
// build tag viz, so that the rest of svmrt builds without EGL's headers;
// without the tag Available is false and Open fails.
package egl
