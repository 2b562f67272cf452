#!/usr/bin/env bash
# Installs the Debian packages strata needs when they are missing (needs root;
# without root it only lists what is missing).
#   scripts/install-deps.sh          what strata itself needs to build and run
#   scripts/install-deps.sh --test   that, plus what the test suite uses
#   scripts/install-deps.sh --bench  that, plus the reference tools npm run bench compares with
set -euo pipefail
pkgs=()
# Build and run: the native addons (native/lmdb builds lmdb-js on LMDB 0.9, native/h5
# links libhdf5) need a C/C++ compiler, make and python3 for node-gyp; strata
# mount uses fuse3's mount helper.
command -v g++ >/dev/null || pkgs+=(g++)
command -v make >/dev/null || pkgs+=(make)
command -v python3 >/dev/null || pkgs+=(python3)
[ -f /usr/include/hdf5/serial/hdf5.h ] || [ -f /usr/include/hdf5.h ] || pkgs+=(libhdf5-dev)
command -v pkg-config >/dev/null || pkgs+=(pkg-config)
command -v fusermount3 >/dev/null || pkgs+=(fuse3)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  command -v useradd >/dev/null || pkgs+=(passwd)
  command -v setfattr >/dev/null || pkgs+=(attr)
  command -v rsync >/dev/null || pkgs+=(rsync)
  command -v h5dump >/dev/null || pkgs+=(hdf5-tools)
  # test/hdf5 writes its fixtures with h5py (and netCDF4), and compresses some with filter
  # plugins (LZ4, BZip2, LZF, Bitshuffle) to check data whose filter is missing.
  /usr/bin/python3 -c 'import h5py' 2>/dev/null || pkgs+=(python3-h5py)
  /usr/bin/python3 -c 'import netCDF4' 2>/dev/null || pkgs+=(python3-netcdf4)
  d=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins
  [ -f $d/libh5lz4.so ] || pkgs+=(hdf5-filter-plugin)
  [ -f $d/liblzf_filter.so ] || pkgs+=(hdf5-plugin-lzf)
  [ -f $d/libh5bshuf.so ] || pkgs+=(bitshuffle)
  # test/posix drives the POSIX calls with Debian's python3 (its os module has them all).
  [ -x /usr/bin/python3 ] || pkgs+=(python3-minimal)
  # test/engine/crash-order.test.ts reads the system calls of an engine process.
  command -v strace >/dev/null || pkgs+=(strace)
  # The PostgreSQL engine tests start a throwaway server.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql)
  # MPI-IO test (test/mpi): mpicc builds a small C program, mpirun runs it with 2+ ranks through a mount.
  command -v mpicc >/dev/null || pkgs+=(libopenmpi-dev)
  command -v mpirun >/dev/null || pkgs+=(openmpi-bin)
fi
if [ "${1:-}" = "--bench" ]; then
  # bindfs: a C FUSE filesystem (libfuse2) over a local directory, the reference for tar x through a mount.
  command -v bindfs >/dev/null || pkgs+=(bindfs)
fi
if [ ${#pkgs[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages (install them as root): ${pkgs[*]}" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
