# svmrt — see README.md. `make run` is the main job, `make test` passes all tests.
GO ?= go

.PHONY: setup run test vet race unit bench bench-smoke

setup:
	./scripts/setup.sh

# The seed's example on the simulated GPU, with its fault/migration summary.
run: setup
	$(GO) run ./samples/mulmat

# Everything CI checks: vet, all tests, and the race detector on the
# concurrent core (svm, backends).
test: setup vet unit race bench-smoke

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 15m ./...

race:
	$(GO) test -count=1 -race -short -timeout 15m ./svm/... ./backends/...

# Every benchmark once, so they cannot rot (numbers come from `make bench`).
bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=5 ./backends/... ./kernels/...
