// Package viz draws where pages live over a run: a residency picture, a
// heat map with one column per sample (time, left to right) and one row per
// page of the ranges watched (top to bottom, range after range), each cell
// coloured by the page's location at that sample: the host (not yet
// populated, or populated), a device (one colour per device), read-
// duplicated on a device, in transit, or not accessible.
//
// The layers:
//   - Location and Residency (location.go, residency.go) are the data: a
//     page's location, and the matrix of them over samples and ranges.
//   - Sampler (sampler.go) fills a Residency from a device's page
//     snapshots (runtime.Device.Snapshot), one column per Sample call;
//     the caller decides when to sample (svmrt viz: after the inputs are
//     written, after each wave of the launch, and as the CPU reads the
//     result back).
//   - Layout (layout.go, palette.go, text.go) is the picture's geometry in
//     pixels: the plot, the axes' ticks and labels, the legend, the colours,
//     and the text rasterised into a mask, all in pure Go so that tests can
//     say which pixel must be which colour.
//   - The drawing itself is OpenGL, headless through EGL (package
//     viz/vizgl, on viz/egl), which needs libEGL and Mesa and builds only
//     with the build tag viz: this package, and so the rest of svmrt,
//     builds and tests without them.
package viz
