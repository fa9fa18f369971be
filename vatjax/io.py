"""Transitional: moved to :mod:`vatjax.data.io`; the lead removes this file at merge."""

from vatjax.data.io import atomic_path, load, save, write_table

__all__ = ["atomic_path", "load", "save", "write_table"]
