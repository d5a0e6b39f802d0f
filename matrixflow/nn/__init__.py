"""matrixflow.nn: layers as Modules, built from the op table's ops.

Every layer is matrix algebra on a batch whose rows are samples: Linear is Y = X·W + 1·b with W
(in × out) and b (1 × out), the orientation of scikit-learn's `coefs_` (PyTorch stores Wᵀ); an
RNN cell is H' = f(X·W_ih + H·W_hh + 1·b) (LSTM and GRU cells likewise, their gates side by
side); an image batch is N × (C·H·W).  One module per kind:
`module` (Module, Sequential), `linear`, `recurrent`, `image` (Conv2d, MaxPool2d, Flatten),
`norm` (Dropout, BatchNorm1d), `activations`, `init` (the initialisers), `pytorch_weights`
(state dicts to and from PyTorch's layout).
"""

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from .image import Conv2d, Flatten, MaxPool2d
from .init import (
    INITIALISERS,
    RELU_GAIN,
    he_normal,
    he_uniform,
    xavier_normal,
    xavier_uniform,
)
from .linear import Linear
from .module import Module, Sequential
from .norm import BatchNorm, BatchNorm1d, Dropout
from .pytorch_weights import from_torch_state_dict, load_torch_state_dict, to_torch_state_dict
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "GRU",
    "INITIALISERS",
    "LSTM",
    "RELU_GAIN",
    "RNN",
    "BatchNorm",
    "BatchNorm1d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GRUCell",
    "Identity",
    "LSTMCell",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "from_torch_state_dict",
    "he_normal",
    "he_uniform",
    "load_torch_state_dict",
    "to_torch_state_dict",
    "xavier_normal",
    "xavier_uniform",
]
