package main

import (
	"strings"
	"testing"
)

// A run with a pass, a failure, two ordinary skips (one a device without
// memory to migrate into) and two skips for lack of userfaultfd: the report shows the package lines and the failing test's
// output, not the passing test's, and the summary counts only the
// userfaultfd skips.
func TestReportSummarizesUFFDSkips(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"quiet detail\n"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestBad","Output":"    bad_test.go:9: want 3, got 4\n"}`,
		`{"Action":"fail","Package":"p/a","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/a","Test":"TestShort","Output":"    skipping in -short mode\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestShort"}`,
		`{"Action":"output","Package":"p/a","Test":"TestMove","Output":"    svm: userfaultfd disabled: nothing migrates\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestMove"}`,
		`{"Action":"output","Package":"p/b","Test":"TestEvict","Output":"    needs migration: svm: userfaultfd unavailable: operation not permitted\n"}`,
		`{"Action":"output","Package":"p/b","Test":"TestCPU","Output":"    cpu has no device memory: it accesses host memory directly, nothing migrates\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestCPU"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestEvict"}`,
		`{"Action":"output","Package":"p/a","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p/a","Output":"FAIL\tp/a\t0.1s\n"}`,
		`{"Action":"build-output","ImportPath":"p/c","Output":"c.go:1: syntax error\n"}`,
		`# not json`,
	}, "\n") + "\n"
	var out strings.Builder
	skips, err := report(strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"want 3, got 4", "FAIL\tp/a\t0.1s", "c.go:1: syntax error", "# not json"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"quiet detail", "PASS\n", "skipping in -short"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("report shows %q, which go test without -v does not:\n%s", unwanted, got)
		}
	}
	if len(skips["p/a"]) != 1 || skips["p/a"][0] != "TestMove" || len(skips["p/b"]) != 1 {
		t.Fatalf("userfaultfd skips = %v, want p/a: [TestMove], p/b: [TestEvict]", skips)
	}
	var sum strings.Builder
	summarize(&sum, skips)
	if !strings.Contains(sum.String(), "2 TESTS SKIPPED") {
		t.Errorf("summary does not count 2 skips:\n%s", sum.String())
	}
	sum.Reset()
	summarize(&sum, nil)
	if !strings.Contains(sum.String(), "no test skipped") {
		t.Errorf("empty summary = %q", sum.String())
	}
}
