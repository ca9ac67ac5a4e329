// Command testreport reads `go test -json` on standard input, prints what
// `go test` prints without -v (each package's result line, build errors,
// and the whole output of every failing test), and ends with a summary of
// the tests that skipped because userfaultfd is not usable here — loud,
// because such a run is green without testing migration at all. `make
// unit` pipes the test run through it; its exit status is the test run's.
//
// A skip counts as "for lack of userfaultfd" when the test's output names
// userfaultfd: every degraded-mode reason of the svm core does (it could
// not open one, or SVMRT_NO_UFFD disabled it), and the tests' skips quote
// it. A skip because a device has no memory to migrate into ("cpu ...
// nothing migrates") is not one.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// uffdMarkers are phrases of the skip reasons that mean "no userfaultfd".
var uffdMarkers = []string{"userfaultfd"}

func main() {
	skips, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	summarize(os.Stdout, skips)
}

// report copies the non-verbose view of the events in r to w and returns
// the userfaultfd skips by package.
func report(r io.Reader, w io.Writer) (map[string][]string, error) {
	skips := map[string][]string{}
	outputs := map[string]*strings.Builder{} // package/test -> its output so far
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event (go vet, a panic before the test binary started)
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" { // -json runs verbose: the bare PASS is not in the quiet output
				fmt.Fprint(w, e.Output) // "ok  pkg 1.2s", "FAIL pkg", package-level output
			}
		case e.Action == "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			b.WriteString(e.Output)
		case e.Action == "fail":
			if b := outputs[key]; b != nil {
				fmt.Fprint(w, b.String())
			}
			delete(outputs, key)
		case e.Action == "skip":
			if b := outputs[key]; b != nil && mentionsUFFD(b.String()) {
				skips[e.Package] = append(skips[e.Package], e.Test)
			}
			delete(outputs, key)
		case e.Action == "pass":
			delete(outputs, key)
		}
	}
	return skips, sc.Err()
}

func mentionsUFFD(s string) bool {
	for _, m := range uffdMarkers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// summarize prints the userfaultfd skips, or one line saying there were
// none.
func summarize(w io.Writer, skips map[string][]string) {
	n := 0
	for _, ts := range skips {
		n += len(ts)
	}
	if n == 0 {
		fmt.Fprintln(w, "testreport: no test skipped for lack of userfaultfd")
		return
	}
	bar := strings.Repeat("!", 78)
	fmt.Fprintf(w, "\n%s\n!! %d TESTS SKIPPED: userfaultfd is not usable here (not granted to this user, or SVMRT_NO_UFFD=1), nothing migrates.\n", bar, n)
	fmt.Fprintln(w, "!! The run is green without testing page migration. ./scripts/setup.sh grants it (run it with root or sudo).")
	pkgs := make([]string, 0, len(skips))
	for p := range skips {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		ts := skips[p]
		sort.Strings(ts)
		fmt.Fprintf(w, "!!   %-45s %3d: %s\n", p, len(ts), strings.Join(head(ts, 4), ", "))
	}
	fmt.Fprintln(w, bar)
}

func head(ts []string, n int) []string {
	if len(ts) <= n {
		return ts
	}
	return append(ts[:n:n], fmt.Sprintf("... %d more", len(ts)-n))
}
