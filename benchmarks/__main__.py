"""`python -m benchmarks`: fix the thread counts and the allocator before NumPy loads, then run."""

import os
import sys

# One BLAS thread and one core: what is measured is each library's own cost, not how it
# parallelises.  These must be set before NumPy (and its BLAS) loads.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# glibc hands freed heap back to the OS once more than 128 KiB lie free at its top, so a step
# that frees a few 128 KiB arrays at once page-faults them all in again on the next step (a
# 256×64 float64 forward then costs 3× its arithmetic).  The allocator reads MALLOC_TOP_PAD_
# only at start-up: start again with a 256 MiB pad, which every implementation then shares.
# `MALLOC_TOP_PAD_=0 python -m benchmarks` measures glibc's default instead.
if "MALLOC_TOP_PAD_" not in os.environ:
    os.environ["MALLOC_TOP_PAD_"] = str(256 << 20)
    os.execv(sys.executable, [sys.executable, "-m", "benchmarks", *sys.argv[1:]])

from .run import main  # noqa: E402

raise SystemExit(main())
