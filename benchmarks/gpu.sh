#!/usr/bin/env bash
# The benchmarks on a GPU machine, in about 4 minutes at most.
#
#   PYTHONPATH=. bash benchmarks/gpu.sh          # from the repository root
#
# Needs jax with CUDA, torch with CUDA, numpy, psutil (flax for the
# materialize benchmark); installs nothing. jax runs on its default device
# (the GPU), torch on "cuda"; every timing synchronises both. Writes the
# markdown tables to "$OUT/gpu_results.md" (OUT defaults to the current
# directory) and the log to "$OUT/gpu_log.txt".
set -uo pipefail

OUT="${OUT:-.}"
mkdir -p "$OUT"
RESULTS="$OUT/gpu_results.md"
LOG="$OUT/gpu_log.txt"
PY="${PYTHON:-python}"

# jax must not grab 75% of the GPU up front: torch shares the device.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export PYTHONPATH="${PYTHONPATH:-.}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$LOG" || true

# Per-script limits: 70 + 30 + 55 + 60 s. A script that runs over is
# reported as timed out in the results, the others still run.
status=0
run() {
  "$PY" benchmarks/run_all.py "$@" 2>&1 | tee -a "$LOG"
  status=$(( status | PIPESTATUS[0] ))
}
run --only random --timeout 70 --title "Benchmark results on GPU" --out "$RESULTS" --pass-args --rounds 5
run --only vmap --timeout 30 --append "$RESULTS"
run --only orthogonal --timeout 55 --append "$RESULTS"
run --only materialize --timeout 60 --append "$RESULTS" --pass-args --rounds 1

echo "Wrote $RESULTS (exit status $status)." | tee -a "$LOG"
exit "$status"
