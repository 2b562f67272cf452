#!/usr/bin/env bash
# Installs the system packages strata's tests use, from Debian's packages,
# when they are missing (needs root; without root it only lists what's missing).
set -euo pipefail
pkgs=()
command -v useradd >/dev/null || pkgs+=(passwd)
command -v setfattr >/dev/null || pkgs+=(attr)
command -v rsync >/dev/null || pkgs+=(rsync)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql) # the PostgreSQL engine tests start a throwaway server
command -v h5dump >/dev/null || pkgs+=(hdf5-tools)
[ -f /usr/include/hdf5/serial/hdf5.h ] || [ -f /usr/include/hdf5.h ] || pkgs+=(libhdf5-dev)
command -v pkg-config >/dev/null || pkgs+=(pkg-config)
# strata mount (FUSE): fusermount3 and the mount.fuse3 helper; the daemon speaks /dev/fuse itself.
command -v fusermount3 >/dev/null || pkgs+=(fuse3)
# MPI-IO test (test/mpi): mpicc builds a small C program, mpirun runs it with 2+ ranks through a mount.
command -v mpicc >/dev/null || pkgs+=(libopenmpi-dev)
command -v mpirun >/dev/null || pkgs+=(openmpi-bin)
if [ ${#pkgs[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages (install them as root): ${pkgs[*]}" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
