#!/usr/bin/env bash
# setup.sh: install the system packages svmrt needs on Debian/Ubuntu.
# Idempotent: packages already present are not reinstalled. Runs as root or
# through sudo; never prompts (DEBIAN_FRONTEND=noninteractive).
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# gcc + libc headers: cgo builds the userfaultfd fault-service thread.
# make: the test entry point (make test).
# ocl-icd-libopencl1 + pocl-opencl-icd: the OpenCL backend is tested against
# PoCL's CPU device (the binding loads libOpenCL.so.1 at run time).
# clang-15 + llvm-15: the OpenCL C kernel compiler (internal/clc) runs
# clang-15, llvm-link-15, opt-15, llc-15, llvm-dis-15 and llvm-as-15.
# libopenblas-dev: for benchmark peers only (make bench-peers, -tags openblas).
for p in gcc libc6-dev make ocl-icd-libopencl1 pocl-opencl-icd clang-15 llvm-15 libopenblas-dev; do
  have "$p" || need+=("$p")
done

if ((${#need[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing ${need[*]} and no apt-get: install them by hand" >&2
    exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "setup: Go is not on PATH (need Go 1.26+)" >&2
  exit 1
fi
