package viz

import "image/color"

// The picture's colours. The cells' colours are far apart in hue and
// lightness so that a narrow band still reads; every component is a whole
// number out of 255, so a GL renderer writing them into an RGBA8
// framebuffer reproduces them exactly (the tests compare pixels for
// equality).
var (
	Background = color.RGBA{255, 255, 255, 255}
	Ink        = color.RGBA{24, 24, 24, 255} // text, frame, ticks

	kindColours = [numKinds]color.RGBA{
		NoAccess:   {40, 40, 40, 255},
		HostEmpty:  {222, 222, 222, 255},
		Host:       {66, 118, 204, 255},
		OnDevice:   {230, 98, 34, 255}, // the first device's; deviceColours for the others
		Duplicated: {150, 84, 196, 255},
		InTransit:  {245, 205, 40, 255},
	}
	// One per device slot, cycling: slot 1 (the first device) is orange.
	deviceColours = []color.RGBA{
		{230, 98, 34, 255},  // orange
		{38, 160, 90, 255},  // green
		{200, 40, 80, 255},  // crimson
		{30, 170, 180, 255}, // teal
		{140, 100, 50, 255}, // brown
	}
)

// Colour is a location's colour: one per kind, and per device slot for
// pages on a device.
func Colour(l Location) color.RGBA {
	if l.Kind == OnDevice {
		i := (l.Device - 1) % len(deviceColours)
		if i < 0 {
			i += len(deviceColours)
		}
		return deviceColours[i]
	}
	if l.Kind < numKinds {
		return kindColours[l.Kind]
	}
	return kindColours[NoAccess]
}
