"""minnet.blas_info: which BLAS kernels numpy runs, and when to hint at OPENBLAS_CORETYPE."""

import pytest

from minnet.blas_info import AVX512_FLAGS, blas_kernels, cpu_flags, openblas_kernel_hint
from minnet.timing import machine_info

ZEN5_FLAGS = {"sse2", "avx", "avx2", "fma"} | AVX512_FLAGS


@pytest.fixture(autouse=True)
def no_coretype(monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)


def test_hint_when_openblas_runs_avx2_kernels_on_an_avx512_cpu():
    hint = openblas_kernel_hint(("openblas", "Haswell"), ZEN5_FLAGS)
    assert "Haswell" in hint and "OPENBLAS_CORETYPE=SkylakeX" in hint
    assert "\n" not in hint


@pytest.mark.parametrize("kernels, flags", [
    (("openblas", "SkylakeX"), ZEN5_FLAGS),          # already the AVX-512 kernels
    (("openblas", "Haswell"), ZEN5_FLAGS - {"avx512bw"}),   # the CPU lacks what SkylakeX needs
    (("openblas", "Haswell"), set()),                # flags unknown (not Linux)
    (("mkl", None), ZEN5_FLAGS),                     # not OpenBLAS: nothing to advise
    (("openblas", None), ZEN5_FLAGS),                # OpenBLAS did not say
])
def test_no_hint_otherwise(kernels, flags):
    assert openblas_kernel_hint(kernels, flags) is None


def test_no_hint_when_the_user_chose_the_kernels(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert openblas_kernel_hint(("openblas", "Haswell"), ZEN5_FLAGS) is None


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx512f avx2\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx512f", "avx2"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_blas_kernels_names_numpys_blas_and_machine_info_shows_it():
    library, family = blas_kernels()
    assert library is not None                   # numpy always loads a BLAS
    blas = machine_info()["blas"]
    assert (f"{family} kernels" in blas) if family else ("kernels" not in blas)
