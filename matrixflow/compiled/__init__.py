"""Trace once, replay fast: a training step's tree recorded on its first call and replayed as a
flat schedule of NumPy calls (program.py), bit for bit the eager step (step.py)."""

from .program import Program, ReplayError
from .step import Replay, ReplayMismatch, replay

__all__ = ["Program", "Replay", "ReplayError", "ReplayMismatch", "replay"]
