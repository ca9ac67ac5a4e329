package runtime

import "github.com/svmrt/svmrt/svm"

// PageInfo and PageState describe pages in a Snapshot.
type (
	PageInfo  = svm.PageInfo
	PageState = svm.PageState
)

// The states Snapshot reports for a page.
const (
	PageNoAccess      = svm.PageNoAccess      // unmapped, PROT_NONE, or not host memory
	PageNotPresent    = svm.PageNotPresent    // mapped, host-owned, no page yet (reads as zero / file content)
	PageZero          = svm.PageZero          // mapped to the shared zero page
	PageReadOnly      = svm.PageReadOnly      // present on the host, mapping read-only
	PageWritable      = svm.PageWritable      // present on the host, mapping writable
	PageOnDevice      = svm.PageOnDevice      // resident on the viewing device
	PageOnOtherDevice = svm.PageOnOtherDevice // resident on another device
	PageInTransit     = svm.PageInTransit     // being migrated right now
	PageDuplicated    = svm.PageDuplicated    // present on the host (write-protected) and read-duplicated on a device
)
