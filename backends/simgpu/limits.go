package simgpu

// Accessors for what a device was configured with, for code that describes
// the device to others (the OpenCL ICD reports them through clGetDeviceInfo).

// WarpSize is how many work-items of a compiled kernel run together as one
// warp (WithWarpSize; DefaultWarpSize).
func (d *Device) WarpSize() int { return d.cfg.warp }
