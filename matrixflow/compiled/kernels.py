"""Kernels: hot ops' forwards and rules written as the program's own lines (filled in below)."""

from __future__ import annotations

KERNELS: dict = {}
