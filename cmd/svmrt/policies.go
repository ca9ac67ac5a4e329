package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/policies"
)

// policiesCmd runs the standard workloads under several memory policies on
// the simulated GPU and prints one table.
func policiesCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policies", flag.ContinueOnError)
	pol := fs.String("policy", strings.Join(policies.DefaultPolicies(), ","), "comma-separated policies (known: "+strings.Join(simgpu.PolicyNames(), ", ")+")")
	wl := fs.String("workload", "all", "comma-separated workloads, or all (see -list)")
	list := fs.Bool("list", false, "list the workloads and policies and exit")
	host := fs.Bool("host", false, "add a host-time column (the only column that varies between runs)")
	replay := fs.Bool("replay", false, "record each workload once and replay its access trace under every policy, instead of re-running it")
	save := fs.String("save", "", "with -replay: write each workload's access trace to `DIR`/WORKLOAD.svmtrace")
	traces := fs.String("trace", "", "replay these saved access traces (comma-separated `FILES`) instead of the workloads")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svmrt policies [-policy p1,p2] [-workload w1,w2|all] [-replay [-save DIR]] [-trace F1,F2] [-list] [-host]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, ""); !ok {
		return code
	}
	if *list {
		fmt.Fprintln(stdout, "workloads:")
		for _, w := range policies.Workloads() {
			fmt.Fprintf(stdout, "  %-12s %s (device memory %d MiB)\n", w.Name, w.Doc, w.VRAM>>20)
		}
		fmt.Fprintln(stdout, "policies:", strings.Join(simgpu.PolicyNames(), ", "))
		return 0
	}
	var ws []policies.Workload
	if *wl == "all" {
		ws = policies.Workloads()
	} else {
		for _, name := range strings.Split(*wl, ",") {
			w, ok := policies.WorkloadByName(strings.TrimSpace(name))
			if !ok {
				fmt.Fprintf(stderr, "svmrt policies: unknown workload %q (svmrt policies -list)\n", name)
				return 2
			}
			ws = append(ws, w)
		}
	}
	var ps []string
	for _, p := range strings.Split(*pol, ",") {
		p = strings.TrimSpace(p)
		if _, err := simgpu.PolicyByName(p); err != nil {
			fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
			return 2
		}
		ps = append(ps, p)
	}
	if *save != "" && !*replay {
		fmt.Fprintln(stderr, "svmrt policies: -save needs -replay")
		return 2
	}
	if *traces != "" && (*replay || *wl != "all") {
		fmt.Fprintln(stderr, "svmrt policies: -trace replays saved traces: it goes with neither -replay nor -workload")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	progress := func(i, n int, w, p string) {
		fmt.Fprintf(stderr, "[%d/%d %s] %s under %s\n", i, n, time.Since(start).Round(time.Second), w, p)
	}
	var rs []policies.Result
	var err error
	switch {
	case *traces != "":
		var trs []*simgpu.AccessTrace
		for _, f := range strings.Split(*traces, ",") {
			tr, err := readTrace(strings.TrimSpace(f))
			if err != nil {
				fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
				return 1
			}
			trs = append(trs, tr)
		}
		rs, err = policies.ReplayAll(ctx, trs, ps, progress)
	case *replay:
		var trs []*simgpu.AccessTrace
		for i, w := range ws {
			fmt.Fprintf(stderr, "[record %d/%d %s] %s\n", i+1, len(ws), time.Since(start).Round(time.Second), w.Name)
			tr, err := policies.Record(ctx, w)
			if err != nil {
				fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
				return 1
			}
			if *save != "" {
				if err := writeTrace(filepath.Join(*save, w.Name+".svmtrace"), tr); err != nil {
					fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
					return 1
				}
			}
			trs = append(trs, tr)
		}
		rs, err = policies.ReplayAll(ctx, trs, ps, progress)
	default:
		rs, err = policies.Run(ctx, ws, ps, progress)
	}
	if err != nil {
		fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
		return 1
	}
	if err := policies.WriteTable(stdout, rs, *host); err != nil {
		fmt.Fprintf(stderr, "svmrt policies: %v\n", err)
		return 1
	}
	failed := 0
	for _, r := range rs {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stderr, "FAIL %s under %s: %v\n", r.Workload, r.Policy, r.Err)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// readTrace reads a saved access trace.
func readTrace(path string) (*simgpu.AccessTrace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr, err := simgpu.ReadAccessTrace(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// writeTrace saves an access trace (its directory is made if need be).
func writeTrace(path string, tr *simgpu.AccessTrace) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tr.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
