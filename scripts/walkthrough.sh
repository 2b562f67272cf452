#!/usr/bin/env bash
# The main job on the embedded default engine ($STRATA_HOME or
# ~/.local/share/strata): a pool, containers, properties, ACLs, attributes,
# snapshots, and a small tree put into a POSIX container and listed.
# Re-runnable: it replaces its own pool "walkthrough" each time.
set -euo pipefail
cd "$(dirname "$0")/.."
strata() { echo "+ strata $*" >&2; node bin/strata.js "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

strata pool destroy walkthrough --recursive 2>/dev/null || true
strata pool create walkthrough
strata pool list

strata container create walkthrough results --type POSIX --chunk-size 1M --properties cksum:crc32
strata container create walkthrough model --type HDF5
strata container list walkthrough
strata container set-attr walkthrough results project climate-2026
strata container list-attrs walkthrough results
strata container get-prop walkthrough results
strata container get-acl walkthrough results

# A small tree into the POSIX container.
mkdir -p "$work/tree/run1/logs" "$work/tree/run2"
echo "temperature,42" > "$work/tree/run1/data.csv"
seq 1 10000 > "$work/tree/run2/series.txt"
echo "started" > "$work/tree/run1/logs/job.log"
strata fs mkdir -p daos://walkthrough/results/run1/logs
strata fs mkdir -p daos://walkthrough/results/run2
strata fs put "$work/tree/run1/data.csv" daos://walkthrough/results/run1/data.csv
strata fs put "$work/tree/run2/series.txt" daos://walkthrough/results/run2/series.txt
strata fs put "$work/tree/run1/logs/job.log" daos://walkthrough/results/run1/logs/job.log
strata fs ln -s ../run2/series.txt daos://walkthrough/results/run1/series-link

# A snapshot keeps today's view while the data moves on.
strata container create-snap walkthrough results --snap before-edit
echo "temperature,43" | strata fs put - daos://walkthrough/results/run1/data.csv
strata container list-snaps walkthrough results
echo "now:" >&2;           strata fs cat daos://walkthrough/results/run1/data.csv
echo "at snapshot:" >&2;   strata fs cat daos://walkthrough/results/run1/data.csv --snap before-edit
strata fs ls -l -R daos://walkthrough/results
strata fs du daos://walkthrough/results

# The data mover: a whole tree into a new container and back, then compared.
strata fs copy --src "$work/tree" --dst daos://walkthrough/tree-copy
strata fs copy --src daos://walkthrough/tree-copy --dst "$work/tree-back"
strata fs compare "$work/tree" "$work/tree-back"

# Parking: the container to HDF5 files and back, identical by content digest.
strata container serialize walkthrough results --output-path "$work/parked"
ls -l "$work/parked"
strata container deserialize walkthrough "$work/parked" --label results-unparked
strata container check walkthrough results
strata container check walkthrough results-unparked

# The unified namespace: a container reachable through a path of this filesystem.
strata container create walkthrough linked --type POSIX --path "$work/linked"
strata fs put "$work/tree/run2/series.txt" "$work/linked/series.txt"
strata fs mkdir "$work/linked/plots"
strata uns resolve "$work/linked/plots"
strata fs ls -l "$work/linked"
strata container destroy --path "$work/linked"

strata pool query walkthrough
echo "walkthrough done" >&2
