//go:build !svmrt_testhooks

package simgpu

// Without the build tag svmrt_testhooks there are no bug hooks (see
// bugs_hooks.go): config.bugs is empty and every hook is constant false.

type bugs struct{}

func (bugs) ignoreProtection() bool { return false }
func (bugs) wideByteStores() bool   { return false }
func (bugs) trustPageTable() bool   { return false }
func (bugs) serviced()              {}
