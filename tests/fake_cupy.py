"""A CPU stand-in for CuPy, for tests: CuPy's API over NumPy, strict about host arrays.

What it emulates is the *interface* matrixflow meets on a GPU, not the GPU: its arithmetic is
NumPy's, on the CPU, so results equal the NumPy backend's to the last bit and say nothing about
CUDA kernels, cuBLAS, speed or memory.  What it checks is device hygiene, the thing a CPU-only
CI can otherwise not see: every array made by `cupy.*` (or derived from one) is a `fake_cupy.
ndarray`, an `np.ndarray` subclass whose `__module__` is "cupy" (so `matrixflow.backend` takes
it for a CuPy array), with a `.device.id`, `.get()` and CuPy's `flags` (no `writeable`).  Like
CuPy it refuses to mix with plain host arrays:

- ufuncs (`np.add(a, b)`, `a * b`, `a += b`) raise TypeError for a host `np.ndarray` operand
  (Python and NumPy scalars are fine; CuPy's comparisons also take 0-d host arrays); a ufunc
  CuPy does not have (SciPy's `xlogy`) and methods other than `__call__` (`np.add.reduce`,
  `np.add.at`) are not dispatched, so NumPy raises TypeError, as with CuPy;
- NumPy functions (`np.concatenate`, `np.where`, `np.linalg.inv`, …) dispatch by
  `__array_function__` to the function of the same name here, or raise TypeError when CuPy has
  none (`np.delete`); those refuse host arrays too;
- creation functions without an array argument (`np.zeros`, `np.full`, `np.random…`) cannot be
  intercepted: they make host arrays, which the checks above catch where they meet device data,
  and which a test catches by asserting that what it gets back is on the device;
- indexing refuses host index arrays and host values (stricter than CuPy, which copies a NumPy
  index array to the GPU on every indexing: a hidden transfer worth catching).

Where it cannot be as strict as CuPy: `np.asarray(fake)` and `np.array(fake)` silently give a
host copy (an ndarray subclass cannot refuse them, where CuPy raises); such a host array is
caught at its next meeting with device data, or by the tests' checks of what stays on the device.
Arrays on different fake devices (there are two) refuse to mix, as CuPy without peer access.
"""

from __future__ import annotations

import threading
import types
from contextlib import contextmanager

import numpy as np

__version__ = "13.0.0+fake"
FAKE = True  # lets a test tell the stand-in from CuPy
DEVICE_COUNT = 2

_local = threading.local()


def _current() -> int:
    return getattr(_local, "device", 0)


class HostArrayError(TypeError):
    """A host (NumPy) array met device data: CuPy raises TypeError here too."""


# ---- the array --------------------------------------------------------------------------------
class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous, owndata; no writeable (CuPy has no read-only
    arrays)."""

    def __init__(self, array):
        flags = np.ndarray.flags.__get__(array)
        self.c_contiguous = flags.c_contiguous
        self.f_contiguous = flags.f_contiguous
        self.owndata = array.base is None

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]


class Device:
    """cupy.cuda.Device: a context manager making `id` the current device."""

    def __init__(self, device=None):
        if device is None:
            device = _current()
        device = int(getattr(device, "id", device))
        if not 0 <= device < DEVICE_COUNT:
            raise RuntimeError(f"fake cupy: no device {device} (there are {DEVICE_COUNT})")
        self.id = device
        self._previous = []

    def __enter__(self):
        self._previous.append(_current())
        _local.device = self.id
        return self

    def __exit__(self, *exc_info):
        _local.device = self._previous.pop()
        return False

    def use(self):
        _local.device = self.id

    def synchronize(self):
        """Nothing runs asynchronously here."""

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id} (fake)>"


class ndarray(np.ndarray):  # CuPy's name
    """A 'device' array: NumPy memory on the CPU, tagged with a fake device id."""

    __module__ = "cupy"
    __array_priority__ = 100  # as CuPy's

    def __array_finalize__(self, obj):
        # views and copies made by ndarray methods (reshape, .T, x[1:], copy, astype)
        self._device_id = getattr(obj, "_device_id", _current())
        parent = obj if isinstance(obj, ndarray) else None
        shares = (parent is not None and np.ndarray.base.__get__(self) is not None
                  and np.may_share_memory(np.ndarray.view(self, np.ndarray),
                                          np.ndarray.view(parent, np.ndarray)))
        self._view_of = (parent._view_of if parent._view_of is not None else parent) \
            if shares else None

    # CuPy's attributes --------------------------------------------------------------------
    @property
    def device(self) -> Device:
        return Device(self._device_id)

    @property
    def base(self):
        """The device array this one is a view of (None when it owns its memory), as CuPy."""
        return self._view_of

    @property
    def flags(self):
        return _Flags(self)

    def get(self, stream=None, order="C", out=None):
        """A host copy (a plain np.ndarray)."""
        host = np.array(self.view(np.ndarray), copy=True, order=order)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr, stream=None):
        if type(arr) is not np.ndarray:
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        self.view(np.ndarray)[...] = arr

    # dispatch ---------------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":  # CuPy dispatches only calls (no reduce, at, outer, …)
            return NotImplemented
        fake = UFUNCS.get(ufunc.__name__)
        if fake is None:  # e.g. scipy.special.xlogy: CuPy has no top-level ufunc of that name
            return NotImplemented
        for x in inputs + tuple(kwargs.get("out", ())):
            if not (isinstance(x, np.ndarray) or type(x) in _SCALARS):
                return NotImplemented
        if "out" in kwargs:
            out = kwargs.pop("out")
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        return fake(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = NAMESPACE
        for part in func.__module__.split(".")[1:]:
            module = getattr(module, part, None)
            if module is None:
                return NotImplemented
        implementation = getattr(module, func.__name__, None)
        if implementation is None or implementation is func:
            return NotImplemented  # CuPy has no such function: NumPy raises TypeError
        if any(t not in (ndarray, np.ndarray) for t in types):
            return NotImplemented
        return implementation(*args, **kwargs)

    # indexing: no host index arrays, no host values --------------------------------------------
    def __getitem__(self, index):
        _check_index(index, "index")
        return np.ndarray.__getitem__(self, _unwrap_index(index, self._device_id))

    def __setitem__(self, index, value):
        _check_index(index, "index")
        if isinstance(value, np.ndarray) and not isinstance(value, ndarray):
            raise HostArrayError(
                f"fake cupy: assigning a host numpy.ndarray {value.shape} into a device array "
                "(move it with cupy.asarray first)")
        if isinstance(value, ndarray):
            _same_device((self, value))
            value = value.view(np.ndarray)
        np.ndarray.__setitem__(self, _unwrap_index(index, self._device_id), value)

    # methods that NumPy implements with ufunc.reduce, which CuPy's dispatch does not take ---------
    def _reduce(self, name, *args, **kwargs):
        _refuse_host(args, kwargs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = out.view(np.ndarray)
        result = getattr(self.view(np.ndarray), name)(*_plain(args), **_plain(kwargs))
        return out if out is not None else _wrap(result, self._device_id)

    def sum(self, *args, **kwargs):
        return self._reduce("sum", *args, **kwargs)

    def mean(self, *args, **kwargs):
        return self._reduce("mean", *args, **kwargs)

    def prod(self, *args, **kwargs):
        return self._reduce("prod", *args, **kwargs)

    def max(self, *args, **kwargs):
        return self._reduce("max", *args, **kwargs)

    def min(self, *args, **kwargs):
        return self._reduce("min", *args, **kwargs)

    def any(self, *args, **kwargs):
        return self._reduce("any", *args, **kwargs)

    def all(self, *args, **kwargs):
        return self._reduce("all", *args, **kwargs)

    def std(self, *args, **kwargs):
        return self._reduce("std", *args, **kwargs)

    def var(self, *args, **kwargs):
        return self._reduce("var", *args, **kwargs)

    def cumsum(self, *args, **kwargs):
        return self._reduce("cumsum", *args, **kwargs)

    def cumprod(self, *args, **kwargs):
        return self._reduce("cumprod", *args, **kwargs)

    def trace(self, *args, **kwargs):
        return self._reduce("trace", *args, **kwargs)

    def clip(self, *args, **kwargs):
        return self._reduce("clip", *args, **kwargs)

    def _method(self, name, *args, **kwargs):
        """A method that NumPy answers with host index arrays for a subclass: on the device."""
        _refuse_host(args, kwargs)
        result = getattr(self.view(np.ndarray), name)(*_plain(args), **_plain(kwargs))
        return _wrap(result, self._device_id)

    def argmax(self, *args, **kwargs):
        return self._method("argmax", *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return self._method("argmin", *args, **kwargs)

    def nonzero(self):
        return self._method("nonzero")

    def argsort(self, *args, **kwargs):
        return self._method("argsort", *args, **kwargs)

    def round(self, *args, **kwargs):
        return self._method("round", *args, **kwargs)

    def dot(self, other, out=None):
        return NAMESPACE.dot(self, other, out=out)

    def __repr__(self):
        return f"fake_cupy.array({np.array2string(self.view(np.ndarray), separator=', ')}, " \
               f"device={self._device_id})"


_SCALARS = {int, float, bool, complex} | {np.dtype(c).type for c in "?bhilqBHILQefdgFD"}
_COMPARISONS = {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}


def _is_host(x) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, ndarray)


def _refuse_host(args, kwargs=None, allow_0d=False, where="operand"):
    for x in _flatten(args, kwargs):
        if _is_host(x) and not (allow_0d and x.ndim == 0):
            raise HostArrayError(
                f"fake cupy: a host numpy.ndarray {x.shape} {x.dtype} is an {where} beside "
                "device arrays (CuPy raises TypeError: Unsupported type <class "
                "'numpy.ndarray'>); move it with cupy.asarray, or create it on the device")


def _flatten(args, kwargs=None):
    stack = list(args) + (list(kwargs.values()) if kwargs else [])
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        else:
            yield x


class _Marker:
    """Stands for the array being indexed in a device check."""

    def __init__(self, device):
        self._device_id = device


def _same_device(arrays):
    """The one device of the device arrays among `arrays` (the current one if none)."""
    ids = {x._device_id for x in _flatten(arrays) if isinstance(x, (ndarray, _Marker))}
    if len(ids) > 1:
        a, b = sorted(ids)[:2]
        raise ValueError(f"fake cupy: arrays on devices {a} and {b} in one operation (CuPy: "
                         "the device where the array resides is different from the current "
                         "device; peer access is unavailable)")
    return ids.pop() if ids else _current()


def _plain(value):
    """Device arrays as plain NumPy views of the same memory, inside lists, tuples and dicts."""
    if isinstance(value, ndarray):
        return value.view(np.ndarray)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _wrap(result, device, sources=()):
    """Results as device arrays on `device` (views of an input stay views of that input)."""
    if isinstance(result, tuple):
        return tuple(_wrap(r, device, sources) for r in result)
    if isinstance(result, list):
        return [_wrap(r, device, sources) for r in result]
    if isinstance(result, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        result = np.asarray(result)
    if not isinstance(result, np.ndarray):
        return result
    owner = None
    for source in sources:
        if np.may_share_memory(result, source.view(np.ndarray)):
            owner = source._view_of if source._view_of is not None else source
            break
    wrapped = result.view(ndarray)
    wrapped._device_id = device
    wrapped._view_of = owner
    return wrapped


def _check_index(index, what):
    for part in (index if isinstance(index, tuple) else (index,)):
        if _is_host(part) or isinstance(part, list):
            raise HostArrayError(
                f"fake cupy: a host {type(part).__name__} used as an {what} into a device array "
                "(CuPy copies it to the GPU on every indexing); make index arrays with "
                "cupy.asarray / cupy.arange once")


def _unwrap_index(index, device):
    if isinstance(index, tuple):
        _same_device([p for p in index if isinstance(p, ndarray)] + [_Marker(device)])
        return tuple(p.view(np.ndarray) if isinstance(p, ndarray) else p for p in index)
    if isinstance(index, ndarray):
        _same_device([index, _Marker(device)])
        return index.view(np.ndarray)
    return index


# ---- functions and ufuncs ----------------------------------------------------------------------
class ufunc:  # CuPy's name
    """A CuPy ufunc: refuses host arrays, runs NumPy's ufunc, returns device arrays."""

    def __init__(self, numpy_ufunc):
        self._ufunc = numpy_ufunc
        self.__name__ = numpy_ufunc.__name__
        self.nin, self.nout = numpy_ufunc.nin, numpy_ufunc.nout

    def __call__(self, *inputs, **kwargs):
        allow_0d = self.__name__ in _COMPARISONS  # CuPy turns 0-d host arrays into scalars there
        out = kwargs.get("out")
        _refuse_host(inputs + ((out,) if out is not None else ()), allow_0d=allow_0d)
        device = _same_device(inputs + ((out,) if out is not None else ()))
        if allow_0d:
            inputs = tuple(x.item() if _is_host(x) else x for x in inputs)
        if out is not None:
            kwargs["out"] = out.view(np.ndarray)
            self._ufunc(*_plain(inputs), **_plain(kwargs))
            return out
        return _wrap(self._ufunc(*_plain(inputs), **_plain(kwargs)), device)

    def at(self, a, indices, b=None):
        """In place at `indices` (CuPy: scatter_add for add), indices and b on the device."""
        if not isinstance(a, ndarray):
            raise TypeError("fake cupy: ufunc.at needs a device array")
        _check_index(indices, "index")
        _refuse_host((b,) if b is not None else ())
        _same_device([a, indices, b])
        args = (b.view(np.ndarray) if isinstance(b, ndarray) else b,) if b is not None else ()
        self._ufunc.at(a.view(np.ndarray), _unwrap_index(indices, a._device_id), *args)

    def __repr__(self):
        return f"<fake cupy ufunc {self.__name__}>"


_UFUNC_NAMES = (
    "add subtract multiply divide true_divide floor_divide negative positive power "
    "float_power remainder mod fmod absolute fabs sign exp exp2 expm1 log log2 log10 log1p "
    "sqrt square cbrt reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh "
    "arccosh arctanh hypot maximum minimum fmax fmin logaddexp logaddexp2 greater "
    "greater_equal less less_equal equal not_equal logical_and logical_or logical_xor "
    "logical_not invert bitwise_and bitwise_or bitwise_xor isnan isinf isfinite signbit "
    "copysign floor ceil trunc rint conjugate matmul clip"
).split()
UFUNCS = {name: ufunc(getattr(np, name) if isinstance(getattr(np, name, None), np.ufunc)
                      else getattr(np._core.umath, name))  # clip: ndarray.clip's ufunc
          for name in _UFUNC_NAMES}


def _function(numpy_function, name=None):
    """CuPy's function of this name: host arrays refused, results on the arrays' device."""

    def function(*args, **kwargs):
        _refuse_host(args, kwargs)
        device = _same_device((args, tuple(kwargs.values())))
        sources = [x for x in _flatten(args, kwargs) if isinstance(x, ndarray)]
        out = kwargs.get("out")
        result = numpy_function(*_plain(args), **_plain(kwargs))
        if out is not None and isinstance(out, ndarray):
            return out
        return _wrap(result, device, sources)

    function.__name__ = name or numpy_function.__name__
    function.__qualname__ = function.__name__
    function.__doc__ = f"fake cupy.{function.__name__} (NumPy's, on 'device' arrays)"
    return function


_FUNCTION_NAMES = (
    # creation (without an array argument they make arrays on the current device)
    "empty empty_like zeros zeros_like ones ones_like full full_like eye identity arange "
    "linspace ascontiguousarray copy "
    # shape and joining
    "reshape ravel transpose swapaxes moveaxis expand_dims squeeze broadcast_to broadcast_arrays "
    "concatenate stack vstack hstack split tile repeat flip pad atleast_2d "
    # selection
    "where nonzero flatnonzero argwhere take take_along_axis diag diagonal tril triu copyto "
    "put_along_axis isin unique sort argsort "
    # math and statistics (max and min are amax and amin in NumPy's dispatch)
    "sum prod mean average var std amax amin argmax argmin cumsum cumprod trace dot vdot inner "
    "outer einsum around round allclose isclose array_equal count_nonzero all any nan_to_num"
).split()

NAMESPACE = types.ModuleType("cupy", "A CPU stand-in for CuPy (tests/fake_cupy.py)")


def _array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """cupy.array: an explicit copy to the current device (from host or device data)."""
    device = obj._device_id if isinstance(obj, ndarray) else _current()
    plain = obj.view(np.ndarray) if isinstance(obj, ndarray) else obj
    return _wrap(np.array(plain, dtype=dtype, copy=True, order=order, ndmin=ndmin), device)


def asarray(a, dtype=None, order=None):
    """cupy.asarray: `a` itself when already a device array of that dtype, else a copy on the
    current device (the explicit host-to-device move)."""
    if isinstance(a, ndarray):
        if a._device_id != _current():
            return _array(a, dtype)  # CuPy copies across devices (peer copy)
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    return _wrap(np.array(a, dtype=dtype, order=order, copy=True), _current())


def asnumpy(a, stream=None, order="C", out=None):
    return a.get(order=order, out=out) if isinstance(a, ndarray) else np.asarray(a, order=order)


def get_array_module(*args):
    return NAMESPACE if any(isinstance(a, ndarray) for a in args) else np


class _Generator:
    """cupy.random.Generator over NumPy's: draws land on the current device."""

    __module__ = "cupy.random"  # CuPy's is cupy.random._generator_api.Generator

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def _draw(self, name, *args, **kwargs):
        return _wrap(getattr(self._rng, name)(*args, **kwargs), _current())

    def random(self, size=None, dtype=np.float64, out=None):
        return self._draw("random", size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return self._draw("uniform", low, high, size).astype(dtype, copy=False)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._draw("standard_normal", size, dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._draw("normal", loc, scale, size)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._draw("integers", low, high, size, dtype=dtype, endpoint=endpoint)

    def permutation(self, x):
        return self._draw("permutation", x)


def _build():
    ns = NAMESPACE
    ns.__version__ = __version__
    ns.FAKE = True
    ns.ndarray = ndarray
    ns.ufunc = ufunc
    ns.HostArrayError = HostArrayError
    for name, fake in UFUNCS.items():
        setattr(ns, name, fake)
    ns.abs = UFUNCS["absolute"]
    for name in _FUNCTION_NAMES:
        setattr(ns, name, _function(getattr(np, name)))
    ns.max, ns.min = ns.amax, ns.amin
    ns.array, ns.asarray, ns.asnumpy = _array, asarray, asnumpy
    ns.get_array_module = get_array_module
    for name in ("float16 float32 float64 int8 int16 int32 int64 uint8 uint32 uint64 intp "
                 "bool_ complex64 complex128 dtype finfo iinfo result_type can_cast "
                 "promote_types isscalar ndim shape newaxis inf nan pi e").split():
        setattr(ns, name, getattr(np, name))

    ns.linalg = types.ModuleType("cupy.linalg")
    for name in "inv det slogdet solve svd norm qr cholesky eigh pinv matrix_power".split():
        setattr(ns.linalg, name, _function(getattr(np.linalg, name)))
    ns.lib = types.ModuleType("cupy.lib")
    ns.lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
    ns.lib.stride_tricks.sliding_window_view = _function(
        np.lib.stride_tricks.sliding_window_view)
    ns.lib.stride_tricks.as_strided = _function(np.lib.stride_tricks.as_strided)

    ns.random = types.ModuleType("cupy.random")
    ns.random.Generator = _Generator
    ns.random.default_rng = _Generator
    _global = {"rng": _Generator(0)}
    ns.random.seed = lambda seed=None: _global.update(rng=_Generator(seed))
    ns.random.random = lambda size=None, dtype=np.float64: _global["rng"].random(size, dtype)
    ns.random.uniform = lambda low=0.0, high=1.0, size=None, dtype=np.float64: \
        _global["rng"].uniform(low, high, size, dtype)
    ns.random.standard_normal = lambda size=None, dtype=np.float64: \
        _global["rng"].standard_normal(size, dtype)

    ns.cuda = types.ModuleType("cupy.cuda")
    ns.cuda.Device = Device
    ns.cuda.is_available = lambda: True
    ns.cuda.runtime = types.SimpleNamespace(
        getDeviceCount=lambda: DEVICE_COUNT,
        getDeviceProperties=lambda device: {"name": b"fake CuPy device (NumPy on the CPU)"})
    ns.get_default_memory_pool = lambda: types.SimpleNamespace(free_all_blocks=lambda: None)
    ns.cuda.get_device_id = _current
    return ns


_build()


def on_device(x) -> bool:
    """True for an array on a fake device (a host np.ndarray, or anything else, is not)."""
    return isinstance(x, ndarray)


def host(x) -> bool:
    """True for a plain NumPy array (exactly np.ndarray: a fake device array is not)."""
    return type(x) is np.ndarray


@contextmanager
def installed():
    """sys.modules["cupy"] is this stand-in inside the block (restored after)."""
    import sys

    previous = sys.modules.get("cupy")
    sys.modules["cupy"] = NAMESPACE
    _local.device = 0
    try:
        yield NAMESPACE
    finally:
        if previous is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = previous
