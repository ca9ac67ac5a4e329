//go:build viz && cgo

package vizgl

// The vertex shader takes positions in picture pixels (origin at the top
// left, as image.Image and Layout have it) and flips them into GL's
// clip space (origin at the bottom left).
const vertexShader = `#version 330 core
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 colour;
uniform vec2 size;
out vec4 vColour;
void main() {
	vColour = colour;
	gl_Position = vec4(pos.x / size.x * 2.0 - 1.0, 1.0 - pos.y / size.y * 2.0, 0.0, 1.0);
}
` + "\x00"

// The fragment shader has three modes: a solid quad (its vertices'
// colour); the plot, where the pixel's offset in the plot picks its texel
// of the palette-index grid by integer arithmetic (texel = offset * grid /
// plot, as viz.Layout.Cell has it: no filtering, no rounding, so every
// pixel is exactly its cell's colour); and the labels, Ink at the text
// mask's coverage.
const fragmentShader = `#version 330 core
in vec4 vColour;
out vec4 frag;
uniform int mode;
uniform int height;
uniform usampler2D cells;
uniform sampler2D mask;
uniform vec4 palette[32];
uniform ivec4 plot;
uniform vec4 ink;
void main() {
	ivec2 px = ivec2(int(gl_FragCoord.x), height - 1 - int(gl_FragCoord.y));
	if (mode == 0) {
		frag = vColour;
	} else if (mode == 1) {
		uvec2 grid = uvec2(textureSize(cells, 0));
		uvec2 t = uvec2(px - plot.xy) * grid / uvec2(plot.zw);
		frag = palette[texelFetch(cells, ivec2(t), 0).r];
	} else {
		frag = vec4(ink.rgb, texelFetch(mask, px, 0).r);
	}
}
` + "\x00"
