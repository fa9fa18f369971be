"""Transitional: moved to :mod:`vatjax.data.simulate`; the lead removes this file at merge."""

from vatjax.data.simulate import SimulatedStudy, simulate_study

__all__ = ["SimulatedStudy", "simulate_study"]
