#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU and CuPy (none of this runs in CI):
#   bash scripts/gpu_check.sh            results in $OUT, or ./gpu-check-results without it
#
# It installs nothing from the network. matrixflow and models are imported from this tree
# (PYTHONPATH), not installed; the machine's python3 must have numpy, scipy, scikit-learn, pytest,
# hypothesis, CuPy and (for the comparisons) PyTorch with CUDA. Wheels that are missing there can
# be carried in .whl/ (see README, "GPU"): they are installed from that folder alone, into
# /tmp/site. Each step has its own time limit and writes its log as it goes, so a run cut short
# still returns what it did. Steps, in order of what matters most:
#   1. environment.txt   the GPU, the driver and the versions seen
#   2. gpu_tests.log     tests/test_gpu.py: moves, CuPy's refusals, the estimators' quality
#   3. gpu_benchmark.txt python -m benchmarks --only gpu (G1 MLP, G2 RNN against PyTorch CUDA)
#   4. op_suite_gpu.log  the op suite's CuPy cases (against PyTorch CUDA, finite differences)
#   5. hygiene.log       the CPU stand-in's device-hygiene tests, here too (they swap in the
#                        stand-in for their own duration only)
#   summary.txt          one line per step: its exit status and seconds
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
: > "$OUT/summary.txt"

step() {  # step NAME LIMIT_S LOG COMMAND...: run it with a time limit, log, and summarise
    local name=$1 limit=$2 log=$3
    shift 3
    local started=$SECONDS
    timeout "$limit" "$@" > "$OUT/$log" 2>&1
    local status=$?
    echo "$name: exit $status in $((SECONDS - started)) s ($log)" | tee -a "$OUT/summary.txt"
}

step environment 60 environment.txt bash -c '
    date -u; nvidia-smi || echo "nvidia-smi: not found"
    "'"$PY"'" - <<EOF
import platform, numpy, scipy, sklearn
print("python", platform.python_version(), "numpy", numpy.__version__, "scipy",
      scipy.__version__, "scikit-learn", sklearn.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "devices", cupy.cuda.runtime.getDeviceCount())
except Exception as exc:
    print("cupy: unavailable:", type(exc).__name__, exc)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "available",
          torch.cuda.is_available())
except Exception as exc:
    print("torch: unavailable:", type(exc).__name__, exc)
import matrixflow
print("matrixflow from", matrixflow.__file__)
EOF'
step gpu-tests 240 gpu_tests.log "$PY" -m pytest -q -ra -p no:cacheprovider tests/test_gpu.py
step gpu-benchmark 240 gpu_benchmark.txt "$PY" -m benchmarks --only gpu --rounds 7
# the op suite's CuPy cases, spread over processes when pytest-xdist is there (each process
# compiles its own CuPy kernels once; CuPy's kernel cache on disk is shared)
PARALLEL=""
"$PY" -c "import xdist" 2>/dev/null && PARALLEL="-n 6"
step op-suite-gpu 300 op_suite_gpu.log "$PY" -m pytest -q -ra -p no:cacheprovider $PARALLEL \
    -k cupy tests/test_ops_against_torch.py tests/test_ops_finite_differences.py
step hygiene 120 hygiene.log "$PY" -m pytest -q -ra -p no:cacheprovider \
    tests/test_fake_cupy.py tests/test_device_hygiene.py tests/test_estimators_on_device.py
