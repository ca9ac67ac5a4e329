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
# llvm-15-dev: LLVM's C++ headers, for the cpu device's work-item jam, an
# opt pass plugin built on first use (internal/devrt/wijam).
# libopenblas-dev: for benchmark peers only (make bench-peers, -tags openblas).
# opencl-c-headers: CL/cl_icd.h and friends, which svmrt's own OpenCL
# platform (package icd, make icd) is compiled against.
# ocl-icd-opencl-dev + clinfo: the ICD's tests build a C host program
# against -lOpenCL and run Debian's clinfo on the platform.
# pkg-config + libegl-dev + libgl-dev: the residency picture (package
# viz/vizgl, svmrt viz; build tag viz) links libEGL through its own cgo
# binding and libGL through go-gl, found with pkg-config. libegl-mesa0 +
# libgl1-mesa-dri: Mesa's EGL with its surfaceless platform and its
# software rasteriser, so the picture is drawn without a display or GPU.
for p in gcc libc6-dev make ocl-icd-libopencl1 pocl-opencl-icd clang-15 llvm-15 llvm-15-dev libopenblas-dev \
  opencl-c-headers ocl-icd-opencl-dev clinfo pkg-config libegl-dev libgl-dev libegl-mesa0 libgl1-mesa-dri; do
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

# userfaultfd for the invoking user. Root can always create one. An ordinary
# user can when vm.unprivileged_userfaultfd is 1 or /dev/userfaultfd grants
# them read-write (Debian: the sysctl is 0 and the device root-only). When
# this script has root (directly or through sudo without a password) it
# grants the user /dev/userfaultfd with an ACL — the narrowest grant; it
# lasts until the next boot — and says so. Without userfaultfd everything
# still builds and runs, but pages never migrate and the tests that need
# migration skip (make test ends with a summary of them).
uffd_user="${SUDO_USER:-$(id -un)}"
uffd_usable() {
  [ "$(id -u "$uffd_user")" -eq 0 ] && return 0
  [ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" = 1 ] && return 0
  [ -e /dev/userfaultfd ] && getfacl -p /dev/userfaultfd 2>/dev/null | grep -q "^user:$uffd_user:rw" && return 0
  [ -e /dev/userfaultfd ] && [ "$(stat -c %a /dev/userfaultfd)" = 666 ] && return 0
  return 1
}
if uffd_usable; then
  echo "setup: userfaultfd: usable by $uffd_user"
else
  ROOT=""
  if [ "$(id -u)" -eq 0 ]; then ROOT=" "; elif sudo -n true 2>/dev/null; then ROOT="sudo"; fi
  if [ -n "$ROOT" ] && [ -e /dev/userfaultfd ]; then
    have acl || DEBIAN_FRONTEND=noninteractive $ROOT apt-get install -y -qq acl >/dev/null
    $ROOT setfacl -m "u:$uffd_user:rw" /dev/userfaultfd
    echo "setup: userfaultfd: granted $uffd_user read-write on /dev/userfaultfd (an ACL; until the next boot: run setup again after one)"
  else
    echo "setup: WARNING: userfaultfd is not usable by $uffd_user and this script has no root to grant it:" >&2
    echo "setup:   pages will not migrate and the migration tests will skip. To grant it, run as root:" >&2
    echo "setup:     setfacl -m u:$uffd_user:rw /dev/userfaultfd    (or: sysctl vm.unprivileged_userfaultfd=1)" >&2
  fi
fi
