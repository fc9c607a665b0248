"""Numba kernels: pure functions on arrays (no layers, no masks objects, no globals).

Each kernel has a plain NumPy twin in :mod:`minnet.kernels.reference` that tests compare it against.
Kernels that write into an ``out`` argument do so to avoid allocating on every batch; passing the
input itself as ``out`` makes them work in place.
"""
