//go:build viz && cgo

package vizgl

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/svmrt/svmrt/viz"
	"github.com/svmrt/svmrt/viz/egl"
)

// Available reports whether this build can draw.
const Available = true

// maxPalette is the fragment shader's palette size.
const maxPalette = 32

// Render draws r's picture and reads it back. It also returns the GL
// renderer's name ("llvmpipe (LLVM 15.0.6, 256 bits)"), for the record.
// Each call opens its own EGL context on the calling goroutine's thread
// and closes it before returning.
func Render(r *viz.Residency) (*image.RGBA, string, error) {
	l, err := viz.NewLayout(r)
	if err != nil {
		return nil, "", err
	}
	if len(l.Legend) > maxPalette {
		return nil, "", fmt.Errorf("vizgl: %d locations, more than the %d colours the shader holds", len(l.Legend), maxPalette)
	}
	ctx, err := egl.Open(3, 3)
	if err != nil {
		return nil, "", err
	}
	defer ctx.Close()
	if err := gl.InitWithProcAddrFunc(egl.ProcAddress); err != nil {
		return nil, "", fmt.Errorf("vizgl: loading OpenGL 3.3 through EGL (%s): %w", ctx.Vendor(), err)
	}
	renderer := gl.GoStr(gl.GetString(gl.RENDERER))
	img, err := draw(l, r)
	if err != nil {
		return nil, renderer, fmt.Errorf("vizgl: %s: %w", renderer, err)
	}
	return img, renderer, nil
}

// draw renders l into a framebuffer object and reads it back (a context is
// current).
func draw(l *viz.Layout, r *viz.Residency) (*image.RGBA, error) {
	w, h := int32(l.Width), int32(l.Height)
	var fbo, rbo uint32
	gl.GenFramebuffers(1, &fbo)
	defer gl.DeleteFramebuffers(1, &fbo)
	gl.BindFramebuffer(gl.FRAMEBUFFER, fbo)
	gl.GenRenderbuffers(1, &rbo)
	defer gl.DeleteRenderbuffers(1, &rbo)
	gl.BindRenderbuffer(gl.RENDERBUFFER, rbo)
	gl.RenderbufferStorage(gl.RENDERBUFFER, gl.RGBA8, w, h)
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, rbo)
	if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
		return nil, fmt.Errorf("framebuffer of %dx%d incomplete (status %#x)", w, h, st)
	}
	gl.Viewport(0, 0, w, h)
	bg := rgba(viz.Background)
	gl.ClearColor(bg[0], bg[1], bg[2], bg[3])
	gl.Clear(gl.COLOR_BUFFER_BIT)

	prog, err := program(vertexShader, fragmentShader)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteProgram(prog)
	gl.UseProgram(prog)
	uni := func(name string) int32 { return gl.GetUniformLocation(prog, gl.Str(name+"\x00")) }
	gl.Uniform2f(uni("size"), float32(w), float32(h))
	gl.Uniform1i(uni("height"), h)
	gl.Uniform1i(uni("cells"), 0)
	gl.Uniform1i(uni("mask"), 1)
	pal := make([]float32, 0, 4*maxPalette)
	for _, c := range l.Palette() {
		v := rgba(c)
		pal = append(pal, v[:]...)
	}
	gl.Uniform4fv(uni("palette"), int32(len(pal)/4), &pal[0])
	p := l.Plot
	gl.Uniform4i(uni("plot"), int32(p.Min.X), int32(p.Min.Y), int32(p.Dx()), int32(p.Dy()))
	ink := rgba(viz.Ink)
	gl.Uniform4f(uni("ink"), ink[0], ink[1], ink[2], ink[3])

	// The textures: the palette-index grid (unit 0) and the text mask (1).
	gw, gh, grid := l.Grid(r)
	cells := texture(0, gl.R8UI, gl.RED_INTEGER, gw, gh, grid)
	defer gl.DeleteTextures(1, &cells)
	m := l.TextMask()
	mask := texture(1, gl.R8, gl.RED, m.Rect.Dx(), m.Rect.Dy(), m.Pix)
	defer gl.DeleteTextures(1, &mask)

	var vao, vbo uint32
	gl.GenVertexArrays(1, &vao)
	defer gl.DeleteVertexArrays(1, &vao)
	gl.BindVertexArray(vao)
	gl.GenBuffers(1, &vbo)
	defer gl.DeleteBuffers(1, &vbo)
	gl.BindBuffer(gl.ARRAY_BUFFER, vbo)
	const stride = 6 * 4 // x, y, r, g, b, a
	gl.VertexAttribPointerWithOffset(0, 2, gl.FLOAT, false, stride, 0)
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(1, 4, gl.FLOAT, false, stride, 2*4)
	gl.EnableVertexAttribArray(1)
	mode := uni("mode")
	quads := func(fills []viz.Fill) {
		v := make([]float32, 0, len(fills)*6*6)
		for _, f := range fills {
			c := rgba(f.C)
			x0, y0, x1, y1 := float32(f.R.Min.X), float32(f.R.Min.Y), float32(f.R.Max.X), float32(f.R.Max.Y)
			for _, pt := range [6][2]float32{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y0}, {x1, y1}, {x0, y1}} {
				v = append(v, pt[0], pt[1], c[0], c[1], c[2], c[3])
			}
		}
		gl.BufferData(gl.ARRAY_BUFFER, len(v)*4, gl.Ptr(v), gl.STREAM_DRAW)
		gl.DrawArrays(gl.TRIANGLES, 0, int32(len(v)/6))
	}
	whole := []viz.Fill{{R: image.Rect(0, 0, int(w), int(h))}}

	gl.Uniform1i(mode, 1)
	quads([]viz.Fill{{R: p}})
	gl.Uniform1i(mode, 0)
	quads(l.Fills)
	gl.Enable(gl.BLEND)
	gl.BlendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA)
	gl.Uniform1i(mode, 2)
	quads(whole)
	gl.Disable(gl.BLEND)

	px := make([]byte, int(w)*int(h)*4)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.ReadPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&px[0]))
	if e := gl.GetError(); e != gl.NO_ERROR {
		return nil, fmt.Errorf("GL error %#x", e)
	}
	// GL's rows run bottom to top, an image's top to bottom.
	img := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	row := int(w) * 4
	for y := 0; y < int(h); y++ {
		copy(img.Pix[y*img.Stride:y*img.Stride+row], px[(int(h)-1-y)*row:(int(h)-y)*row])
	}
	return img, nil
}

// texture uploads a one-channel w×h texture to a texture unit, sampled by
// texelFetch only (nearest, no mipmaps).
func texture(unit uint32, internal int32, format uint32, w, h int, data []byte) uint32 {
	var t uint32
	gl.GenTextures(1, &t)
	gl.ActiveTexture(gl.TEXTURE0 + unit)
	gl.BindTexture(gl.TEXTURE_2D, t)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1) // rows of w bytes, whatever w
	gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, format, gl.UNSIGNED_BYTE, gl.Ptr(data))
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, 0)
	return t
}

func program(vs, fs string) (uint32, error) {
	v, err := shader(gl.VERTEX_SHADER, vs)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(v)
	f, err := shader(gl.FRAGMENT_SHADER, fs)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(f)
	p := gl.CreateProgram()
	gl.AttachShader(p, v)
	gl.AttachShader(p, f)
	gl.LinkProgram(p)
	var ok int32
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := infoLog(p, gl.GetProgramiv, gl.GetProgramInfoLog)
		gl.DeleteProgram(p)
		return 0, fmt.Errorf("linking the shaders: %s", log)
	}
	return p, nil
}

func shader(kind uint32, src string) (uint32, error) {
	s := gl.CreateShader(kind)
	cs, free := gl.Strs(src)
	gl.ShaderSource(s, 1, cs, nil)
	free()
	gl.CompileShader(s)
	var ok int32
	gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		log := infoLog(s, gl.GetShaderiv, gl.GetShaderInfoLog)
		gl.DeleteShader(s)
		return 0, fmt.Errorf("compiling a shader: %s", log)
	}
	return s, nil
}

func infoLog(obj uint32, iv func(uint32, uint32, *int32), getLog func(uint32, int32, *int32, *uint8)) string {
	var n int32
	iv(obj, gl.INFO_LOG_LENGTH, &n)
	if n <= 0 {
		return "(no log)"
	}
	b := make([]byte, n)
	getLog(obj, n, nil, &b[0])
	return strings.TrimRight(string(b), "\x00\n")
}

// rgba is a colour as GL's floats: k/255 exactly, which the RGBA8
// framebuffer stores back as k.
func rgba(c color.RGBA) [4]float32 {
	return [4]float32{float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255, float32(c.A) / 255}
}
