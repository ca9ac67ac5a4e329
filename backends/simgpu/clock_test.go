package simgpu

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClockAdvanceAndBreakdown(t *testing.T) {
	var c Clock
	if c.Now() != 0 {
		t.Fatalf("zero Clock at %v", c.Now())
	}
	c.Charge(TimeCompute, 10*time.Microsecond)
	c.Charge(TimeFaultService, 313*time.Microsecond)
	c.Charge(TimeTransferH2D, 163457)
	c.Charge(TimeTransferD2H, 1759)
	c.Charge(TimeRemote, 1712)
	c.Advance(5)
	c.Charge(TimeCompute, 0) // no-op
	c.Charge(TimeCompute, 2*time.Microsecond)

	want := ClockBreakdown{
		Compute:      12 * time.Microsecond,
		FaultService: 313 * time.Microsecond,
		TransferH2D:  163457,
		TransferD2H:  1759,
		Remote:       1712,
		Other:        5,
	}
	b := c.Breakdown()
	if b != want {
		t.Fatalf("Breakdown() = %+v, want %+v", b, want)
	}
	if c.Now() != b.Total() {
		t.Errorf("Now() = %v, Total() = %v", c.Now(), b.Total())
	}
	if c.Now() != 12000+313000+163457+1759+1712+5 {
		t.Errorf("Now() = %d", c.Now())
	}
	if got := c.Charges(TimeCompute); got != 2 {
		t.Errorf("Charges(compute) = %d, want 2 (zero charges not counted)", got)
	}
	if got := c.Charges(TimeCategory(200)); got != 0 {
		t.Errorf("Charges(unknown) = %d", got)
	}
	m := b.Map()
	if len(m) != 8 || m["fault-service"] != 313*time.Microsecond || m["other"] != 5 {
		t.Errorf("Map() = %v", m)
	}
	for _, cat := range TimeCategories() {
		if m[cat.String()] != b.Get(cat) {
			t.Errorf("Map()[%s] = %v, Get = %v", cat, m[cat.String()], b.Get(cat))
		}
	}
	if b.Get(TimeCategory(99)) != 0 {
		t.Error("Get(unknown) != 0")
	}

	c.Reset()
	if c.Now() != 0 || c.Breakdown() != (ClockBreakdown{}) || c.Charges(TimeCompute) != 0 {
		t.Errorf("after Reset: now %v, breakdown %+v", c.Now(), c.Breakdown())
	}
}

func TestClockBreakdownString(t *testing.T) {
	if got := (ClockBreakdown{}).String(); got != "no simulated time" {
		t.Errorf("empty String() = %q", got)
	}
	b := ClockBreakdown{Compute: 400 * time.Microsecond, FaultService: 600 * time.Microsecond}
	if got, want := b.String(), "compute=400µs (40.0%) fault-service=600µs (60.0%)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b = ClockBreakdown{Compute: 1, TransferH2D: 2, Other: 3}
	if got, want := b.String(), "compute=1ns (16.6%) transfer-h2d=2ns (33.3%) other=3ns (50.0%)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestTimeCategoryString(t *testing.T) {
	want := []string{"compute", "fault-service", "transfer-h2d", "transfer-d2h", "transfer-peer", "cpu-fault", "remote", "other"}
	cats := TimeCategories()
	if len(cats) != len(want) {
		t.Fatalf("%d categories, want %d", len(cats), len(want))
	}
	for i, cat := range cats {
		if cat.String() != want[i] {
			t.Errorf("category %d = %q, want %q", i, cat, want[i])
		}
	}
	if got := TimeCategory(42).String(); got != "TimeCategory(42)" {
		t.Errorf("unknown category String() = %q", got)
	}
}

func TestClockPanics(t *testing.T) {
	for name, f := range map[string]func(c *Clock){
		"negative advance": func(c *Clock) { c.Advance(-1) },
		"negative charge":  func(c *Clock) { c.Charge(TimeCompute, -time.Second) },
		"unknown category": func(c *Clock) { c.Charge(TimeCategory(numTimeCategories), 1) },
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), "simgpu: Clock") {
					t.Errorf("%s: recover() = %v, want a simgpu Clock panic", name, r)
				}
			}()
			var c Clock
			f(&c)
		}()
	}
}

func TestClockSaturates(t *testing.T) {
	var c Clock
	c.Charge(TimeCompute, math.MaxInt64-10)
	c.Charge(TimeCompute, 100)
	c.Charge(TimeRemote, 100)
	if c.Now() != math.MaxInt64 {
		t.Errorf("Now() = %v, want saturation", c.Now())
	}
	if b := c.Breakdown(); b.Compute != math.MaxInt64 || b.Total() != math.MaxInt64 {
		t.Errorf("Breakdown() = %+v", b)
	}
}

// TestClockConcurrent advances from many goroutines while others read; the
// end state is the same whatever the interleaving (run with -race).
func TestClockConcurrent(t *testing.T) {
	var c Clock
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			last := time.Duration(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				now := c.Now()
				if now < last {
					t.Errorf("clock went back from %v to %v", last, now)
					return
				}
				last = now
				_ = c.Breakdown()
			}
		}()
	}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Charge(TimeCategory((g+i)%numTimeCategories), time.Duration(i+1))
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	const perGoroutine = 1000 * 1001 / 2
	if c.Now() != 8*perGoroutine {
		t.Errorf("Now() = %d, want %d", c.Now(), 8*perGoroutine)
	}
	if c.Breakdown().Total() != c.Now() {
		t.Errorf("Total() = %v, Now() = %v", c.Breakdown().Total(), c.Now())
	}
}
