package kernels

// ListNode is a node of an ordinary Go singly linked list, the kind of data
// structure fine-grained SVM lets a device walk without any marshalling.
//
// ListWalk relies on this layout (checked by a test with unsafe.Offsetof),
// which matches the OpenCL C struct list_node in its Source on any device with
// 64-bit pointers:
//
//	offset 0: Next  (8 bytes, the host address of the next node, or 0)
//	offset 8: Value (4 bytes, float32)
//	size 16 (4 bytes of padding)
type ListNode struct {
	Next  *ListNode
	Value float32
}

// Offsets ListWalk uses (see ListNode).
const (
	listNodeNextOff  = 0
	listNodeValueOff = 8
)

// ListWalk follows pointers stored in Go structs: work-item i walks the list
// starting at heads[i] (a []*ListNode) until a nil Next and writes the sum of
// the Values, in list order, to out[i]. Launch it over ListWalkRange(n); items
// with i >= n do nothing. Lists must be acyclic (a cycle never ends, as on a
// GPU) and must not change during the launch.
var ListWalk = &Kernel{
	Name: "list_walk",
	Params: []Param{
		{Name: "out", Kind: PtrF32, Written: true},
		{Name: "heads", Kind: PtrAny},
		{Name: "n", Kind: I32},
	},
	Source: listWalkSource,
	Body:   listWalkBody,
}

const listWalkSource = `// Layout of the Go struct kernels.ListNode (64-bit device pointers required):
// next at offset 0, value at offset 8, size 16.
typedef struct list_node {
    __global const struct list_node *next;
    float value;
} list_node;

// One list head. Kernel arguments may not be pointers to pointers, so heads
// (a Go []*ListNode) is passed as a pointer to structs holding one pointer.
typedef struct {
    __global const list_node *node;
} list_head;

// out[i] = sum of the values of the list starting at heads[i], for i < n.
__kernel void list_walk(__global float *out,
                        __global const list_head *heads,
                        int n)
{
    int i = get_global_id(0);
    if (i >= n)
        return;
    float sum = 0.0f;
    for (__global const list_node *p = heads[i].node; p != 0; p = p->next)
        sum += p->value;
    out[i] = sum;
}
`

func listWalkBody(it *Item, a *Args) {
	i := it.GlobalID(0)
	if i >= int(a.I32(2)) {
		return
	}
	var sum float32
	for p := it.LoadPtr(a.Ptr(1) + uintptr(i)*8); p != 0; p = it.LoadPtr(p + listNodeNextOff) {
		sum += it.LoadF32(p + listNodeValueOff)
	}
	it.StoreF32(a.Ptr(0)+uintptr(i)*4, sum)
}

// ListWalkRange is a 1-D NDRange covering n lists in groups of 256 (or one
// group of n when n < 256). For n <= 0 it is a single idle work-item.
func ListWalkRange(n int) NDRange { return coverRange(n, 256) }

// RefListWalk is the plain-Go reference for ListWalk: the sum of each list's
// values, in list order.
func RefListWalk(heads []*ListNode) []float32 {
	out := make([]float32, len(heads))
	for i, p := range heads {
		var sum float32
		for ; p != nil; p = p.Next {
			sum += p.Value
		}
		out[i] = sum
	}
	return out
}
