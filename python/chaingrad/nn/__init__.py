"""``chaingrad.nn``: modules, parameters, initialisers and functional ops, mirroring
``torch.nn``."""

from . import (
    functional,
    init,
    parallel,
    utils,  # noqa: E402  (nn.utils: clip_grad_norm_, parameters_to_vector, ...)
)
from .modules import (
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    HuberLoss,
    Identity,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softplus,
    Tanh,
)
from .parameter import Parameter

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "L1Loss",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "utils",
    "parallel",
]
__all__ += [
    "BatchNorm1d", "BatchNorm2d", "ELU", "Embedding", "GELU", "HuberLoss", "LayerNorm", "LeakyReLU", "SiLU",
    "SmoothL1Loss", "Softplus",
]
