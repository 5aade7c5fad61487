"""``chaingrad.optim``: optimizers with PyTorch's algorithms and ``state_dict`` format.

Every parameter update is a single call to a fused compiled kernel when the core provides it
(see :mod:`chaingrad.optim._functional`).
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
