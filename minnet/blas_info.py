"""Which BLAS kernels numpy runs, and a hint when OpenBLAS picked slower ones than the CPU can run.

OpenBLAS chooses its kernel family once, when numpy loads it, from the CPU's identity (cpuid). A
CPU it does not know gets an older family: the OpenBLAS 0.3.31 inside numpy 2.4's wheels runs its
"Haswell" (AVX2) kernels on AMD Zen 5 (EPYC 9005, Ryzen 9000), which has AVX-512 (upstream:
OpenMathLib/OpenBLAS issue 6029, fixed by pull request 6033 after that release). The environment
variable ``OPENBLAS_CORETYPE`` overrides the choice; OpenBLAS reads it only while loading, so it
must be set before Python starts.

Measured on this project's 2-core AMD EPYC (Zen 5), ``OPENBLAS_CORETYPE=SkylakeX`` against the
detected Haswell kernels (docs/benchmarks.md, round 6): LeNet-5's GEMMs 1.4-1.8x faster, a
LeNet-300-100 epoch 0.54 s instead of 0.74 s (batch 64), a LeNet-5 epoch 7.8 s instead of 8.7 s.

minnet does not set the variable itself. It would take effect only when minnet is imported before
numpy (``python -m minnet`` yes, a script that imports numpy first no), and the two kernel families
add up a GEMM's products in different orders: the same seed would then give slightly different
numbers depending on import order. The benchmarks print the hint below instead.
"""

import os

# OpenBLAS kernel families built on AVX-512 (what threadpoolctl reports as "architecture")
AVX512_KERNELS = {"SkylakeX", "Cooperlake", "SapphireRapids"}
# The CPU flags OpenBLAS's SkylakeX kernels need (as Linux lists them in /proc/cpuinfo)
AVX512_FLAGS = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}


def blas_kernels():
    """(library, kernel family) of numpy's BLAS, e.g. ("openblas", "Haswell"); the family is None
    when the library does not report one (MKL, Accelerate), both None when no BLAS is loaded."""
    import numpy  # noqa: F401  (threadpoolctl lists only libraries already loaded)
    from threadpoolctl import threadpool_info
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return pool.get("internal_api"), pool.get("architecture")
    return None, None


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags as a set of strings (Linux); an empty set where unknown."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_kernel_hint(kernels=None, flags=None):
    """One line advising ``OPENBLAS_CORETYPE=SkylakeX`` when numpy's OpenBLAS runs kernels without
    AVX-512 on a CPU that has it; None otherwise (also when the user already set the variable).

    kernels: (library, family) as :func:`blas_kernels` returns; flags: a set as :func:`cpu_flags`
    returns. Both default to this machine's.
    """
    library, family = kernels if kernels is not None else blas_kernels()
    flags = cpu_flags() if flags is None else flags
    if (library != "openblas" or family is None or family in AVX512_KERNELS
            or not AVX512_FLAGS <= flags or "OPENBLAS_CORETYPE" in os.environ):
        return None
    return (f"note: OpenBLAS runs its {family} kernels on this AVX-512 CPU; "
            f"`export OPENBLAS_CORETYPE=SkylakeX` before starting Python runs its AVX-512 ones "
            f"(see minnet/blas_info.py)")
