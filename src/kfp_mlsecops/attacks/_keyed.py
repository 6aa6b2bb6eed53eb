"""Keyed per-sample random numbers inside the TF graph (a counter-based integer hash).

Every number drawn for a sample is a pure function of ``(seed, stream, counter, sample id,
element index)``: never of the batch the sample sits in, its position there or the batch size.
So attacking any subset of the evaluated points, in any batch size, repeats each point's draws
exactly, which is what lets the gate re-attack a sample of the claimed-robust points.

The hash is ``lowbias32`` (C. Wellons' integer mixer: xor-shift, multiply, xor-shift, multiply,
xor-shift) on uint32, chained over the key words; an element's bits mix the sample key with a Weyl
sequence of the element index. Uniforms take the top 24 bits (exact in float32); normals use
Box-Muller on two uniforms. ``stream`` separates the purposes (and attacks) drawing with one seed;
``counter`` is the restart, target or query index.

Box-Muller's logarithm and sine are computed here with float32 multiply, add, divide and bit
operations only (series on an exactly reduced argument), not with ``tf.math.log``/``tf.cos``:
those are vectorised in Eigen, where an element's last bit depends on whether it falls in a SIMD
packet or in the scalar tail, so on the batch size (and on the CPU's instruction set). IEEE
arithmetic is correctly rounded everywhere, so the draws are the same bits on any batch and CPU.
"""

from __future__ import annotations

import math
from typing import Any

# one stream per purpose, so two attacks with the same seed and counter never share draws
PGD_START = 0x10
APGD_CE_START = 0x20
APGD_DLR_START = 0x28
APGDT_START = 0x30
SQUARE_STRIPES = 0x40
SQUARE_QUERY = 0x41
#: ``random_start`` draws L-inf noise from ``stream`` and L2 normals from ``stream + L2_NORMALS``.
L2_NORMALS = 1

_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135
#: ``1 / (2k + 1)`` for the atanh series of the logarithm, highest power first.
_LOG_SERIES = tuple(1.0 / k for k in (15, 13, 11, 9, 7, 5, 3, 1))
#: ``(-1)^k / (2k + 1)!`` for the sine series, highest power first (error < 1e-9 on [-pi/2, pi/2]).
_SIN_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(7, -1, -1))
_M1 = 0x7FEB352D
_M2 = 0x846CA68B
_WEYL = 0x9E3779B9
_MASK32 = 0xFFFFFFFF


def _u32(value: Any) -> Any:
    """Cast an integer tensor (or Python int) to uint32, keeping its low 32 bits."""
    import tensorflow as tf

    wide = tf.cast(value, tf.int64)
    return tf.cast(tf.bitwise.bitwise_and(wide, _MASK32), tf.uint32)


def _mix(x: Any) -> Any:
    """lowbias32: a bijective 32-bit integer mixer with good avalanche."""
    import tensorflow as tf

    shift, xor = tf.bitwise.right_shift, tf.bitwise.bitwise_xor
    x = xor(x, shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(_M1, tf.uint32)
    x = xor(x, shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(_M2, tf.uint32)
    return xor(x, shift(x, tf.constant(16, tf.uint32)))


def sample_keys(ids: Any, *, seed: Any, stream: int, counter: Any) -> Any:
    """Return one uint32 key per sample, shaped like ``ids`` (int64, one per sample)."""
    import tensorflow as tf

    ids = tf.cast(ids, tf.int64)
    low = _u32(ids)
    high = _u32(tf.bitwise.right_shift(ids, tf.constant(32, tf.int64)))
    head = _mix(_u32(seed) + tf.constant(_WEYL, tf.uint32))
    head = _mix(tf.bitwise.bitwise_xor(head, _u32(stream)))
    head = _mix(tf.bitwise.bitwise_xor(head, _u32(counter)))
    key = _mix(tf.bitwise.bitwise_xor(head, high))
    return _mix(tf.bitwise.bitwise_xor(key, low))


def _bits(keys: Any, size: Any, offset: int = 0) -> Any:
    """Return uint32 bits shaped ``(N, size)``: entry ``(i, j)`` mixes ``keys[i]`` and ``j``."""
    import tensorflow as tf

    index = _u32(tf.range(size, dtype=tf.int64) * 2 + offset)
    weyl = index * tf.constant(_WEYL, tf.uint32)
    return _mix(tf.bitwise.bitwise_xor(tf.expand_dims(keys, 1), tf.expand_dims(weyl, 0)))


def _to_unit(bits: Any) -> Any:
    """Top 24 bits as a float32 in [0, 1) (exact: 24 bits fit float32's mantissa)."""
    import tensorflow as tf

    top = tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32))
    return tf.cast(tf.cast(top, tf.int32), tf.float32) * (1.0 / (1 << 24))


def _shaped(flat: Any, shape: Any) -> Any:
    import tensorflow as tf

    return tf.reshape(flat, tf.concat([[-1], tf.cast(shape, tf.int32)], axis=0))


def keyed_uniform(
    ids: Any,
    shape: Any,
    *,
    seed: Any,
    stream: int,
    counter: Any,
    minval: float = 0.0,
    maxval: float = 1.0,
) -> Any:
    """Return float32 uniforms in ``[minval, maxval)`` shaped ``(N, *shape)``, one row per id.

    ``shape`` is the per-sample shape (a list or an int32 tensor; ``[]`` gives one per sample).
    """
    import tensorflow as tf

    keys = sample_keys(ids, seed=seed, stream=stream, counter=counter)
    size = tf.reduce_prod(tf.cast(shape, tf.int32))
    unit = _to_unit(_bits(keys, size))
    if (minval, maxval) != (0.0, 1.0):
        unit = minval + (maxval - minval) * unit
    return _shaped(unit, shape)


def keyed_normal(ids: Any, shape: Any, *, seed: Any, stream: int, counter: Any) -> Any:
    """Return float32 standard normals shaped ``(N, *shape)`` (Box-Muller on keyed uniforms)."""
    import tensorflow as tf

    keys = sample_keys(ids, seed=seed, stream=stream, counter=counter)
    size = tf.reduce_prod(tf.cast(shape, tf.int32))
    radius = 1.0 - _to_unit(_bits(keys, size, offset=0))  # in (0, 1]: the log stays finite
    angle = _to_unit(_bits(keys, size, offset=1))
    normal = tf.sqrt(-2.0 * _log_unit(radius)) * _cos_turn(angle)
    return _shaped(normal, shape)


def _log_unit(u: Any) -> Any:
    """Natural log of float32 ``u`` in ``(0, 1]``: exponent bits plus an atanh series."""
    import tensorflow as tf

    bits = tf.bitcast(u, tf.int32)
    exponent = tf.cast(tf.bitwise.right_shift(bits, 23) - 127, tf.float32)
    mantissa = tf.bitcast(
        tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(bits, 0x7FFFFF), 0x3F800000), tf.float32
    )  # in [1, 2)
    big = mantissa > _SQRT2  # move the mantissa to [sqrt(1/2), sqrt(2)): no cancellation near 1
    mantissa = tf.where(big, mantissa * 0.5, mantissa)
    exponent = tf.where(big, exponent + 1.0, exponent)
    s = (mantissa - 1.0) / (mantissa + 1.0)  # |s| < 0.172
    s2 = s * s
    series = tf.fill(tf.shape(u), _LOG_SERIES[0])
    for coefficient in _LOG_SERIES[1:]:
        series = series * s2 + coefficient
    return exponent * _LN2 + 2.0 * s * series


def _cos_turn(a: Any) -> Any:
    """``cos(2 pi a)`` for float32 ``a`` in ``[0, 1)``: ``-sin(2 pi (1/4 - |a - 1/2|))``.

    Both subtractions are exact for ``a`` with 24 fraction bits; the sine series then runs on
    ``[-pi/2, pi/2]``.
    """
    import tensorflow as tf

    x = (0.25 - tf.abs(a - 0.5)) * (2.0 * math.pi)
    x2 = x * x
    series = tf.fill(tf.shape(a), _SIN_SERIES[0])
    for coefficient in _SIN_SERIES[1:]:
        series = series * x2 + coefficient
    return -(x * series)
