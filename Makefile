# svmrt — see README.md. `make run` is the main job, `make test` passes all tests.
GO ?= go
# The test hooks tag builds the deliberately broken device behaviours the
# conformance suite is checked against (they are not in a normal build).
TESTTAGS ?= svmrt_testhooks

.PHONY: setup run test vet race unit viz-test residency fuzz bench bench-smoke bench-peers bench-peers-smoke bench-kernels bench-kernels-smoke icd cts

setup:
	./scripts/setup.sh

# The seed's example on the simulated GPU, with its fault/migration summary.
run: setup
	$(GO) run ./samples/mulmat

# Everything CI checks: vet, all tests, and the race detector on the
# concurrent core (svm, backends).
test: setup vet unit viz-test race fuzz bench-smoke bench-peers-smoke bench-kernels-smoke

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(TESTTAGS) ./...
	$(GO) vet -tags openblas ./internal/peers/... ./bench/peerbench ./cmd/svmrt-bench
	$(GO) vet -tags viz ./viz/... ./cmd/svmrt

# -json through internal/testreport: go test's usual output, then a loud
# summary of the tests that skipped because userfaultfd is not usable here.
unit:
	bash -o pipefail -c '$(GO) test -json -count=1 -timeout 15m -tags $(TESTTAGS) ./... | $(GO) run ./internal/testreport'

# The residency picture's OpenGL side (build tag viz: libEGL, Mesa), which
# `make unit` builds without: the EGL binding, pixels drawn through
# EGL/llvmpipe, and svmrt viz end to end.
viz-test:
	$(GO) test -count=1 -tags viz ./viz/...
	$(GO) test -count=1 -tags viz -run Viz ./cmd/svmrt

# README's residency picture (docs/residency.png) from the mulmat sample.
residency:
	$(GO) run -tags viz ./cmd/svmrt viz -o docs/residency.png mulmat

race:
	$(GO) test -count=1 -race -short -timeout 15m -tags $(TESTTAGS) ./svm/... ./backends/...

# The public launch and memory-command API under hostile arguments
# (runtime's FuzzMemoryCommands: unclamped counts, NULL, holes, PROT_NONE,
# device memory, wrapping ranges) for FUZZTIME; `make unit` already runs
# its committed seed corpus (runtime/testdata/fuzz). A count, not a
# duration: Go 1.26's fuzzing coordinator can report the end of a timed
# run as a failure ("context deadline exceeded", no crasher; golang/go
# issue 75804, fixed in Go 1.27). 500,000 executions take two to three
# minutes on the 2-core VM (494,263 in 2m0s; 500,000 in 3m10s in CI).
FUZZTIME ?= 500000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzMemoryCommands$$' -fuzztime $(FUZZTIME) -timeout 20m ./runtime/

# Every benchmark once, so they cannot rot (numbers come from `make bench`).
bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=5 ./backends/... ./kernels/...

# svmrt's sgemm beside OpenBLAS and gonum in one run, with ratios (medians of
# N runs; BENCH_PEERS_FLAGS=-small for m=256 only, as CI does).
BENCH_PEERS_FLAGS ?= -n 5
bench-peers: setup
	$(GO) run -tags openblas ./cmd/svmrt-bench $(BENCH_PEERS_FLAGS)

# The peers benchmark once at m=256, so it cannot rot.
bench-peers-smoke:
	$(GO) run -tags openblas ./cmd/svmrt-bench -small -n 1

# Issue 9's kernel benchmarks side by side (cmd/svmrt-kbench): (a) simgpu
# per-access cost on TLB hits, compiled vs Go body; (b) saxpy ns/elem on
# simgpu and cpu vs a plain Go loop; (c) host µs per page migrated by device
# faults over fresh 256 MiB; (d) compiled mulmat on cpu vs PoCL. Medians of
# N interleaved runs with ratios against the goals.
BENCH_KERNELS_FLAGS ?= -n 5
bench-kernels: setup
	$(GO) run ./cmd/svmrt-kbench $(BENCH_KERNELS_FLAGS)

# The kernel benchmarks once at small sizes, so they cannot rot.
bench-kernels-smoke:
	$(GO) run ./cmd/svmrt-kbench -small -n 1

# svmrt's OpenCL platform for an ICD loader (package icd): the simulated GPU
# as an OpenCL 3.0 device with fine-grained system SVM, in
# build/libsvmrt-icd.so. The linker version script leaves only the ICD's
# entry points exported (icd/icdbuild.Args is the same command; so is
# `svmrt icd`, which also says how to select and install it).
icd:
	$(GO) build -buildmode=c-shared -ldflags=-extldflags=-Wl,--version-script=$(CURDIR)/cmd/svmrt-icd/exports.map \
		-o build/libsvmrt-icd.so ./cmd/svmrt-icd
	@rm -f build/libsvmrt-icd.h
	@echo "built build/libsvmrt-icd.so: select it with OCL_ICD_VENDORS=$(CURDIR)/build/libsvmrt-icd.so (e.g. clinfo)"

# The Khronos OpenCL CTS (../shared/opencl-cts; SVMRT_CTS_DIR elsewhere)
# on svmrt's ICD and on PoCL: pass counts per suite side by side. The CTS
# is built once into ~/.cache/svmrt/cts-build, never into the repo; with
# no CTS around it says so and succeeds. CTS_SUITES picks suites.
cts: icd
	./scripts/cts.sh $(CTS_SUITES)
