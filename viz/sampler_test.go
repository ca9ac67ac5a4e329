package viz

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Sampling a range on the simulated GPU: untouched pages are the host's
// and not populated, written ones the host's, prefetched ones on the
// device (named in the legend by its slot), and a page the CPU then
// touches the host's again; the ranges sit one after the other.
func TestSamplerFollowsPages(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	dev, err := svmrt.Open("simgpu")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	a := testmem.Map(t, 4*testmem.PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	b := testmem.Map(t, 2*testmem.PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	s := NewSampler(dev, "test")
	if err := TrackSlice(s, "a", a); err != nil {
		t.Fatal(err)
	}
	if err := s.Track("b", unsafe.Pointer(&b[0]), uintptr(len(b))); err != nil {
		t.Fatal(err)
	}
	sample := func(label string) {
		t.Helper()
		if err := s.Sample("test", label); err != nil {
			t.Fatal(err)
		}
	}
	sample("untouched")
	for i := range a {
		a[i] = 1
	}
	sample("written")
	if err := dev.Prefetch(unsafe.Pointer(&a[0]), uintptr(len(a))); err != nil {
		t.Fatal(err)
	}
	sample("prefetched")
	sink += a[0] // a CPU read (a real load) brings page 0 home
	sample("read back")

	r := s.Residency()
	if len(r.Devices) != 1 || r.Devices[0].Name != "simgpu" || r.Devices[0].Slot == 0 {
		t.Fatalf("devices %+v", r.Devices)
	}
	slot := r.Devices[0].Slot
	if r.Pages() != 6 || len(r.Samples) != 4 || r.Ranges[1].Name != "b" || r.Ranges[1].Pages != 2 {
		t.Fatalf("%d pages, samples %v, ranges %+v", r.Pages(), r.Samples, r.Ranges)
	}
	dev1 := Location{Kind: OnDevice, Device: slot}
	want := [][]Location{
		{{Kind: HostEmpty}, {Kind: HostEmpty}, {Kind: HostEmpty}, {Kind: HostEmpty}, {Kind: HostEmpty}, {Kind: HostEmpty}},
		{{Kind: Host}, {Kind: Host}, {Kind: Host}, {Kind: Host}, {Kind: HostEmpty}, {Kind: HostEmpty}},
		{dev1, dev1, dev1, dev1, {Kind: HostEmpty}, {Kind: HostEmpty}},
		{{Kind: Host}, dev1, dev1, dev1, {Kind: HostEmpty}, {Kind: HostEmpty}},
	}
	for si, col := range want {
		for p, w := range col {
			if got := r.At(si, p); got != w {
				t.Errorf("sample %q page %d: %+v, want %+v", r.Samples[si].Label, p, got, w)
			}
		}
	}
	if err := s.Track("late", unsafe.Pointer(&b[0]), 1); err == nil {
		t.Error("Track after a sample")
	}
}

var sink byte

// LocationOf for every snapshot state.
func TestLocationOf(t *testing.T) {
	for st, want := range map[svmrt.PageState]Location{
		svmrt.PageNoAccess:      {Kind: NoAccess},
		svmrt.PageNotPresent:    {Kind: HostEmpty},
		svmrt.PageZero:          {Kind: HostEmpty},
		svmrt.PageReadOnly:      {Kind: Host},
		svmrt.PageWritable:      {Kind: Host},
		svmrt.PageOnDevice:      {Kind: OnDevice, Device: 3},
		svmrt.PageOnOtherDevice: {Kind: OnDevice, Device: 3},
		svmrt.PageInTransit:     {Kind: InTransit},
		svmrt.PageDuplicated:    {Kind: Duplicated, Device: 3},
	} {
		if got := LocationOf(svmrt.PageInfo{State: st, Device: 3}); got != want {
			t.Errorf("%v: %+v, want %+v", st, got, want)
		}
	}
}
