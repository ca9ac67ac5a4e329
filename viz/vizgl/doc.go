// Package vizgl draws a residency picture (package viz's Layout) with
// OpenGL 3.3 core through go-gl, headless: an EGL surfaceless context on
// Mesa (package viz/egl), a framebuffer object of the picture's size, and
// glReadPixels back into an image. No X server, Wayland compositor or GPU
// device node is needed: on a machine without one Mesa renders with its
// software rasteriser (llvmpipe).
//
// The plot is one quad whose fragment shader looks each pixel's cell up in
// an integer texture of palette indices (Layout.Grid), with the same
// pixel-to-cell mapping as Layout.Cell, so a test can say exactly which
// colour each pixel must have; the frame, ticks and swatches are quads
// of their colour, and the labels one quad blending Ink through the text
// mask Layout.TextMask rasterised.
//
// It builds only with the build tag viz (and cgo; Debian's libegl-dev,
// libgl-dev, libegl-mesa0 and libgl1-mesa-dri, which scripts/setup.sh
// installs): without the tag Available is false and Render fails, so the
// rest of svmrt needs none of them.
package vizgl
