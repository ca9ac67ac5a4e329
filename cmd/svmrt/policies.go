package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svmrt policies [-policy p1,p2] [-workload w1,w2|all] [-list] [-host]")
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rs, err := policies.Run(ctx, ws, ps, func(i, n int, w, p string) {
		fmt.Fprintf(stderr, "[%d/%d %s] %s under %s\n", i, n, time.Since(start).Round(time.Second), w, p)
	})
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
