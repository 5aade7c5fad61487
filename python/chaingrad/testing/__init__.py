"""``chaingrad.testing``: test helpers (``assert_close``) with PyTorch's defaults and messages."""

from ._comparison import assert_close

__all__ = ["assert_close"]
