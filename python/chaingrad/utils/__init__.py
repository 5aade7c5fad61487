"""Utilities (``chaingrad.utils.checkpoint``)."""
