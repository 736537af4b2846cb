"""Single-threaded BLAS for optimiser loops.

Iterative fits (L-BFGS, Levenberg-Marquardt) call BLAS on small matrices thousands of
times; OpenBLAS's thread pool then costs far more than it saves, and on a shared machine
it is ruinous (a multi-group CFA took 48 s instead of 5.6 s). Large one-off products
(e.g. the WLSMV asymptotic covariance) keep every thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits


def single_thread_blas() -> AbstractContextManager:
    """Context manager limiting BLAS to one thread."""
    return threadpool_limits(limits=1, user_api="blas")
