//go:build !viz || !cgo

package vizgl

import (
	"image"

	"github.com/svmrt/svmrt/viz"
	"github.com/svmrt/svmrt/viz/egl"
)

// Available reports whether this build can draw: build with -tags viz.
const Available = false

// Render fails: this build has no OpenGL.
func Render(r *viz.Residency) (*image.RGBA, string, error) { return nil, "", egl.ErrNotBuilt }
