"""`python -m benchmarks`: fix the thread counts before NumPy is imported, then run."""

import os

# One BLAS thread and one core: what is measured is each library's own cost, not how it
# parallelises.  These must be set before NumPy (and its BLAS) loads.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from .run import main  # noqa: E402

raise SystemExit(main())
