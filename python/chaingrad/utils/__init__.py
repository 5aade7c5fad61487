"""Utilities (``chaingrad.utils.checkpoint``, ``chaingrad.utils.data``)."""

from . import checkpoint, data  # noqa: F401
