#!/usr/bin/env bash
# Run as many paper-protocol SEQUOIA runs (bench/sequoia.py) in parallel as a many-core machine holds,
# for at most SECONDS seconds, and write every finished run's JSON record both to
# bench/results/sequoia_runs/ and to $OUT (the device machine's result folder).
#
#   OUT=/some/dir bash bench/sequoia_device.sh 540 [extra bench/sequoia.py arguments]
#   OUT=/some/dir HIGHSPY_WHEEL=highspy-1.16.0-cp312-...whl PYTHON=python3.12 JOBS=16 bash bench/sequoia_device.sh 540
#
# Needs Python 3.12 (or the project's) with torch, numpy, scipy, networkx, joblib, and highspy (a wheel
# unpacked on PYTHONPATH is enough; set PYTHONPATH before calling). Runs that are already recorded in
# bench/results/sequoia_runs/ are skipped, so the script can be called again to continue. One run
# uses one core (torch and HiGHS are limited to one thread each); JOBS defaults to the core count.
# A run that is still going when the time is up is killed and leaves no record (records are written
# atomically at the end of a run). Measured on the shared 2-core machine (CPU time, paper protocol, the
# records' cpu_s): a run at J = 20 takes about 4 CPU-min (interventions), 7-10 (matching), 6-10 (capacity) and
# 8-12 (path, flow route model); at J = 40 about 4 (interventions), 12-21 (matching), 14-37 (capacity) and
# 15-23 (path).
# Measured on a 16-core device machine: interventions J = 20, 242-284 CPU-s per run.
# So for a window of about 9 minutes on 16 cores, ask for the runs that can finish:
#   OUT=/dir bash bench/sequoia_device.sh 540 --sizes 20,5 --domains interventions matching capacity
set -euo pipefail
SECONDS_BUDGET=${1:?usage: OUT=dir bash bench/sequoia_device.sh SECONDS [bench/sequoia.py args]}
shift || true
OUT=${OUT:?set OUT to the directory that receives the records}
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}
cd "$(dirname "$0")/.."
if [ -n "${HIGHSPY_WHEEL:-}" ]; then  # optional: a highspy wheel file to unpack and put on PYTHONPATH
    mkdir -p /tmp/highspy_wheel && "$PY" -m zipfile -e "$HIGHSPY_WHEEL" /tmp/highspy_wheel
    PYTHONPATH="/tmp/highspy_wheel${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
"$PY" - <<'PY'
import importlib
for m in ("numpy", "scipy", "networkx", "joblib", "torch", "highspy"):
    importlib.import_module(m)
print("dependencies found")
PY
set +e
# the 40 paper-protocol runs, J = 20 first (the J = 40 path runs need hours per run at present)
timeout --signal=TERM --kill-after=20 "$SECONDS_BUDGET" \
    "$PY" bench/sequoia.py --jobs "$JOBS" --also-write "$OUT" "$@" 2>&1 | tee "$OUT/sequoia_device.log"
status=${PIPESTATUS[0]}
set -e
# the table from whatever records exist (both the old ones and the ones written just now)
"$PY" bench/sequoia.py --table-only --out "$OUT/sequoia.json" > "$OUT/sequoia_table.md" 2>&1 || true
echo "bench/sequoia.py exit status $status (124: stopped at the time limit); records in $OUT"
ls "$OUT"
