package viz

import (
	"fmt"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// Kind is the class of place a page can be.
type Kind uint8

// The kinds, in the legend's order.
const (
	NoAccess   Kind = iota // unmapped, PROT_NONE, or not host memory
	HostEmpty              // mapped and the host's, no page yet (reads as zero)
	Host                   // present in host memory
	OnDevice               // resident in a device's memory (Location.Device says which)
	Duplicated             // read-duplicated: on the host (write-protected) and on a device
	InTransit              // being migrated at the moment of the snapshot
	numKinds
)

func (k Kind) String() string {
	switch k {
	case NoAccess:
		return "no access"
	case HostEmpty:
		return "host, not populated"
	case Host:
		return "host"
	case OnDevice:
		return "device"
	case Duplicated:
		return "read-duplicated"
	case InTransit:
		return "in transit"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Location is where one page is at one sample.
type Location struct {
	Kind Kind
	// Device is the device's slot in the page table for OnDevice and
	// Duplicated (0 otherwise), so that two devices get two colours.
	Device int
}

// LocationOf classifies a snapshot's page. The snapshot's viewer does not
// matter: a page on the viewing device and one on another are both
// OnDevice, told apart by their slot.
func LocationOf(p svmrt.PageInfo) Location {
	switch p.State {
	case svmrt.PageNotPresent, svmrt.PageZero:
		return Location{Kind: HostEmpty}
	case svmrt.PageReadOnly, svmrt.PageWritable:
		return Location{Kind: Host}
	case svmrt.PageOnDevice, svmrt.PageOnOtherDevice:
		return Location{Kind: OnDevice, Device: p.Device}
	case svmrt.PageDuplicated:
		return Location{Kind: Duplicated, Device: p.Device}
	case svmrt.PageInTransit:
		// Which way it travels is not in the snapshot: one colour.
		return Location{Kind: InTransit}
	}
	return Location{Kind: NoAccess}
}
