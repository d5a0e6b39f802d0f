"""The CPU stand-in for CuPy (tests/fake_cupy.py) refuses what CuPy refuses.

The device-hygiene tests (test_device_hygiene.py) are only as good as this refusal: if the
stand-in let a host array mix with device data, a stray `np.zeros` in matrixflow would pass
them.  So each refusal CuPy makes, and the stand-in copies, is held here.
"""

import fake_cupy
import numpy as np
import pytest
from scipy.special import xlogy

from matrixflow.backend import array_module, device_of, is_cupy_array


def test_device_arrays_are_taken_for_cupy_arrays(cp):
    a = cp.asarray(np.ones((2, 3)))
    assert is_cupy_array(a) and array_module(a) is cp and device_of(a) == "cuda:0"
    assert type(a.get()) is np.ndarray and not is_cupy_array(a.get())
    assert not hasattr(a.flags, "writeable")  # as CuPy's: code must not rely on it
    assert a.base is None and a.T.base is a and a[1:].base is a and (a * 2).base is None


@pytest.mark.parametrize("mix", [
    lambda a, h: a + h, lambda a, h: h * a, lambda a, h: a @ h.T, lambda a, h: np.maximum(a, h),
    lambda a, h: np.concatenate([a, h]), lambda a, h: np.where(a > 0, h, a),
    lambda a, h: a.__iadd__(h), lambda a, h: a[np.array([0, 1])],
    lambda a, h: a.__setitem__(slice(None), h), lambda a, h: np.add(a, 1.0, out=h),
])
def test_host_arrays_beside_device_arrays_are_refused(cp, mix):
    with pytest.raises(TypeError):
        mix(cp.ones((2, 3)), np.ones((2, 3)))


def test_scalars_and_device_arrays_mix_freely(cp):
    a = cp.ones((2, 3))
    for result in (a * 2.0, 1 - a, a / np.float32(2), np.exp(a), a.sum(axis=0, keepdims=True),
                   np.where(a > 0, 1.0, a), a[cp.arange(2)], a > np.array(0.5)):
        assert is_cupy_array(result)


def test_what_cupy_does_not_dispatch_raises(cp):
    a = cp.ones((3, 3))
    with pytest.raises(TypeError):
        np.add.reduce(a)  # CuPy's __array_ufunc__ takes calls only
    with pytest.raises(TypeError):
        np.add.at(a, (cp.arange(2),), 1.0)
    with pytest.raises(TypeError):
        np.delete(a, 1)  # CuPy has no delete
    with pytest.raises(TypeError):
        xlogy(a, a)  # a SciPy ufunc: CuPy's dispatch looks for cupy.xlogy
    cp.add.at(a, (cp.arange(2), cp.arange(2)), 1.0)  # CuPy's own ufunc.at works
    assert a.get()[0, 0] == 2.0


def test_two_devices_refuse_to_mix(cp):
    a = cp.ones((2, 2))
    with cp.cuda.Device(1):
        b = cp.ones((2, 2))
    assert device_of(a) == "cuda:0" and device_of(b) == "cuda:1"
    with pytest.raises(ValueError, match="devices 0 and 1"):
        a + b


def test_creation_functions_make_device_arrays_on_the_current_device(cp):
    with cp.cuda.Device(1):
        made = [cp.zeros((2, 2)), cp.full((1, 1), 3.0), cp.eye(2), cp.arange(3),
                cp.random.default_rng(0).random((2, 2))]
    assert all(is_cupy_array(x) and x.device.id == 1 for x in made)


def test_the_stand_in_leaves_sys_modules_as_it_found_it():
    import sys

    before = sys.modules.get("cupy")
    with fake_cupy.installed():
        assert sys.modules["cupy"] is fake_cupy.NAMESPACE
    assert sys.modules.get("cupy") is before
