#!/usr/bin/env bash
# cts.sh: the Khronos OpenCL conformance tests on svmrt's ICD and on PoCL,
# pass counts per suite side by side (make cts).
#
# The CTS is third-party code kept beside the repo, never in it: its
# source is $SVMRT_CTS_DIR, else ../shared/opencl-cts next to the repo,
# else /work/shared/opencl-cts; where none exists this says so and exits 0.
# It is built once into a cache outside the repo ($SVMRT_CTS_BUILD, default
# ${XDG_CACHE_HOME:-~/.cache}/svmrt/cts-build/KEY, KEY the first 12 hex
# digits of the sha256 of the source's absolute path: CMake refuses a
# build directory configured for another source, and the same CTS may sit
# at two paths, e.g. a CI checkout beside a working one) — about 2.5
# minutes on two cores. A build directory whose stamp (source path, build
# script and README) differs is emptied and built again.
#
# Usage: scripts/cts.sh [suite ...]   (default: all six suites)
# Environment: SVMRT_CTS_TIMEOUT (seconds per suite and platform, default
# 3600), SVMRT_CTS_PLATFORMS ("svmrt pocl", the default, or one of them),
# SVMRT_ICD (the ICD library; default: build/libsvmrt-icd.so, which
# `make icd` builds). Logs go to $SVMRT_CTS_BUILD/logs/SUITE-PLATFORM.log.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src=""
for d in "${SVMRT_CTS_DIR:-}" "$repo/../shared/opencl-cts" /work/shared/opencl-cts; do
  if [ -n "$d" ] && [ -x "$d/build.sh" ]; then
    src=$(cd "$d" && pwd)
    break
  fi
done
if [ -z "$src" ]; then
  echo "cts: skipped: no OpenCL CTS (set SVMRT_CTS_DIR, or put it at ../shared/opencl-cts)"
  exit 0
fi
key=$(printf %s "$src" | sha256sum | cut -c1-12)
out=${SVMRT_CTS_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/svmrt/cts-build/$key}
icd=${SVMRT_ICD:-$repo/build/libsvmrt-icd.so}
timeout_s=${SVMRT_CTS_TIMEOUT:-3600}
platforms=${SVMRT_CTS_PLATFORMS:-svmrt pocl}

# path of each suite's binary under the build directory
declare -A bin=(
  [test_svm]=SVM/test_svm [test_api]=api/test_api [test_basic]=basic/test_basic
  [test_events]=events/test_events [test_atomics]=atomics/test_atomics
  [test_generic_address_space]=generic_address_space/test_generic_address_space
)
suites=("$@")
((${#suites[@]})) || suites=(test_svm test_api test_basic test_events test_atomics test_generic_address_space)

# Build (or reuse) the CTS: the stamp names the source and its build
# script's and README's contents.
stamp=$(cat "$src/build.sh" "$src/README.md" | sha256sum | cut -c1-16)-$src
if [ "$(cat "$out/.svmrt-stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$out/test_conformance/SVM/test_svm" ]; then
  echo "cts: building the CTS from $src into $out (about 2.5 minutes on two cores)"
  start=$(date +%s)
  # A directory configured for another source or build is emptied first;
  # build.sh prints its failure (the tail of CMake's log) on stdout.
  # Only a directory this script or build.sh made is emptied.
  if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -e "$out/.svmrt-stamp" ] && [ ! -e "$out/CMakeCache.txt" ]; then
    echo "cts: $out is not empty and is no CTS build directory: not touching it (set SVMRT_CTS_BUILD elsewhere)" >&2
    exit 1
  fi
  rm -rf "$out"
  mkdir -p "$out"
  if ! "$src/build.sh" "$out" >"$out.build.log" 2>&1; then
    echo "cts: building the CTS failed ($out.build.log):" >&2
    tail -n 30 "$out.build.log" >&2
    exit 1
  fi
  echo "$stamp" >"$out/.svmrt-stamp"
  echo "cts: built in $(($(date +%s) - start)) s"
fi

[ -f "$icd" ] || { echo "cts: no ICD at $icd (make icd)" >&2; exit 1; }
pocl=""
for f in /etc/OpenCL/vendors/pocl.icd; do [ -f "$f" ] && pocl=$f; done

mkdir -p "$out/logs"
# counts LOG: "passed/run" of the harness's per-test result lines, and the
# tests that reported themselves not supported (skipped: not run).
counts() {
  local p f s
  # A failing test's name may follow its last error message on one line
  # ("ERROR: ... undefined!kernel_preprocessor_macros FAILED"); passing
  # tests' lines are their own (other "... passed" lines are sub-steps).
  p=$(grep -cE '^[A-Za-z0-9_]+ passed$' "$1" || true)
  f=$(grep -cE '(^|[^A-Za-z0-9_])[A-Za-z0-9_]+ FAILED$' "$1" || true)
  s=$(grep -cE '^[A-Za-z0-9_]+ test not supported$' "$1" || true)
  # The harness's own tally, where the suite got to print it ("PASSED 4 of
  # 4 tests.", "FAILED 1 of 76 tests."), is the better count: some tests
  # print their "passed" line once per sub-test.
  local sum word n m
  sum=$(grep -aoE '^(PASSED|FAILED) [0-9]+ of [0-9]+ tests\.' "$1" | tail -n 1 || true)
  if [ -n "$sum" ]; then
    read -r word n _ m _ <<<"$sum"
    if [ "$word" = PASSED ]; then p=$n; else p=$((m - n)); fi
    f=$((m - p))
  fi
  echo "$p/$((p + f)) ($s skipped)"
}
declare -A res
for s in "${suites[@]}"; do
  [ -n "${bin[$s]:-}" ] || { echo "cts: unknown suite $s" >&2; exit 1; }
  for p in $platforms; do
    case $p in
      svmrt) vendors=$icd ;;
      pocl) vendors=$pocl ;;
      *) echo "cts: unknown platform $p" >&2; exit 1 ;;
    esac
    log=$out/logs/$s-$p.log
    if [ -z "$vendors" ]; then
      res[$s,$p]="(no PoCL)"
      continue
    fi
    start=$(date +%s)
    # Each suite runs in its own directory (some read files beside them).
    status=0
    (cd "$(dirname "$out/test_conformance/${bin[$s]}")" &&
      OCL_ICD_VENDORS=$vendors timeout "$timeout_s" "./$(basename "${bin[$s]}")" >"$log" 2>&1) || status=$?
    secs=$(($(date +%s) - start))
    r=$(counts "$log")
    case $status in
      0 | 1) ;;
      124) r="$r timeout" ;;
      *) r="$r exit $status" ;;
    esac
    res[$s,$p]="$r (${secs}s)"
    echo "cts: $s on $p: $r in ${secs}s ($log)"
  done
done

printf '\n%-28s' suite
for p in $platforms; do printf '%-24s' "$p passed"; done
printf '\n'
for s in "${suites[@]}"; do
  printf '%-28s' "$s"
  for p in $platforms; do printf '%-24s' "${res[$s,$p]}"; done
  printf '\n'
done
