"""The demo's data: scikit-learn's 8x8 digits and a synthetic 3-axis accelerometer gesture
set, NumPy and scikit-learn only (no downloads, no TensorFlow). The shipped example CNNs
(``emlml_tools/models``) were trained on exactly these splits, so ``emlml demo`` and the
getting-started pages can check them on the same held-out data.

- :func:`digits_split` - the 8x8 handwritten digits (1797 images, shipped inside
  scikit-learn) as float32 images ``(N, 8, 8, 1)`` in [0, 1], split 75/25.
- :func:`motion_dataset` / :func:`motion_split` - gesture windows ``(N, 1, T, 3)``
  (T = 64 samples at 50 Hz, in g): idle, walk, shake, tap and free-fall.
"""

import numpy as np


# --- digits ------------------------------------------------------------------------------

DIGITS_SEED = 0
DIGITS_TEST_SIZE = 0.25


def digits_split(upsample=1):
    """scikit-learn's digits as ``(x_train, x_test, y_train, y_test)``.

    Images are float32 ``(N, 8*upsample, 8*upsample, 1)``: the 0..16 pixel counts
    divided by 16, so in [0, 1]. ``upsample=2`` repeats each pixel 2x2 (16x16 images, for
    the models that need room for strides and pooling). Labels are int64 0..9. The split
    is stratified with a fixed ``random_state``: 1347 training and 450 test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0))[..., np.newaxis]
    if upsample != 1:
        x = np.repeat(np.repeat(x, upsample, axis=1), upsample, axis=2)
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=DIGITS_TEST_SIZE, random_state=DIGITS_SEED,
                            stratify=y)


# --- synthetic accelerometer gestures ----------------------------------------------------

MOTION_CLASSES = ("idle", "walk", "shake", "tap", "freefall")
MOTION_RATE_HZ = 50.0
MOTION_LENGTH = 64            # samples per window: 1.28 s at 50 Hz
MOTION_RANGE_G = 4.0          # the sensor's full scale (+-4 g); readings are clipped to it
MOTION_NOISE_G = 0.02         # sensor noise, standard deviation
MOTION_SEED = 0
MOTION_N_PER_CLASS = 200


def _gravity(rng):
    """The 1 g gravity vector in the sensor frame of a board held roughly flat (tilt up
    to 35 degrees in a random direction)."""
    tilt = np.deg2rad(rng.uniform(0.0, 35.0))
    azimuth = rng.uniform(0.0, 2 * np.pi)
    return np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                     np.cos(tilt)])


def _unit(rng):
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _idle(rng, t):
    # Resting on a table or in a still hand: gravity, a slow wobble, sensor noise.
    g = _gravity(rng)
    wobble = rng.uniform(0.0, 0.03) * np.sin(2 * np.pi * rng.uniform(0.1, 0.8) * t
                                            + rng.uniform(0, 2 * np.pi))
    return g[np.newaxis, :] + wobble[:, np.newaxis] * _unit(rng)[np.newaxis, :]


def _walk(rng, t):
    # Carried while walking: a vertical bounce at the step rate (1.5-2.3 Hz) with its
    # second harmonic (heel strike), a lateral sway at half the step rate.
    g = _gravity(rng)
    f = rng.uniform(1.5, 2.3)
    ph = rng.uniform(0, 2 * np.pi)
    a = rng.uniform(0.15, 0.45)
    vertical = a * (np.sin(2 * np.pi * f * t + ph)
                    + rng.uniform(0.2, 0.5) * np.sin(4 * np.pi * f * t + 2 * ph + 0.7))
    sway = rng.uniform(0.05, 0.15) * np.sin(np.pi * f * t + ph / 2)
    side = np.cross(g, _unit(rng))
    side /= np.linalg.norm(side)
    return (g[np.newaxis, :] * (1.0 + vertical[:, np.newaxis])
            + sway[:, np.newaxis] * side[np.newaxis, :])


def _shake(rng, t):
    # Shaken by hand: 3.5-7 Hz back and forth along one direction, 0.8-2.5 g, with a
    # smooth start and end somewhere inside the window.
    g = _gravity(rng)
    f = rng.uniform(3.5, 7.0)
    a = rng.uniform(0.8, 2.5)
    axis = _unit(rng)
    n = len(t)
    start = rng.integers(0, n // 4)
    stop = rng.integers(3 * n // 4, n + 1)
    env = np.zeros(n)
    env[start:stop] = np.sin(np.linspace(0.0, np.pi, stop - start)) ** 0.5
    s = a * env * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    second = 0.3 * a * env * np.sin(2 * np.pi * f * 1.03 * t + rng.uniform(0, 2 * np.pi))
    return (g[np.newaxis, :] + s[:, np.newaxis] * axis[np.newaxis, :]
            + second[:, np.newaxis] * _unit(rng)[np.newaxis, :])


def _tap(rng, t):
    # A finger tap on a resting board: one or two sharp spikes (1.5-3.5 g, mostly along
    # the board's normal) ringing down within ~60 ms.
    x = _idle(rng, t)
    n = len(t)
    normal = _gravity(rng)
    for _ in range(rng.integers(1, 3)):
        at = rng.integers(4, n - 8)
        a = rng.uniform(1.5, 3.5) * rng.choice([-1.0, 1.0])
        k = np.arange(n - at)
        ring = a * np.exp(-k / rng.uniform(0.8, 1.6)) * np.cos(np.pi * k * rng.uniform(0.6, 1.0))
        direction = normal + 0.3 * _unit(rng)
        x[at:] += ring[:, np.newaxis] * (direction / np.linalg.norm(direction))[np.newaxis, :]
    return x


def _freefall(rng, t):
    # Dropped: gravity, then 0 g (plus noise and a little spin) for 0.16-0.5 s, then an
    # impact spike (2-4 g) with bounces, then gravity again in a new orientation.
    n = len(t)
    g0, g1 = _gravity(rng), _unit(rng)
    fall = rng.integers(8, 26)
    start = rng.integers(2, n - fall - 6)
    stop = start + fall
    x = np.empty((n, 3))
    x[:start] = g0
    x[start:stop] = 0.0
    x[start:stop] += (rng.uniform(0.0, 0.15) * np.sin(2 * np.pi * rng.uniform(1, 4)
                      * t[:fall]))[:, np.newaxis] * _unit(rng)[np.newaxis, :]
    x[stop:] = g1
    k = np.arange(n - stop)
    impact = (rng.uniform(2.0, 4.0) * np.exp(-k / rng.uniform(1.0, 2.5))
              * np.cos(np.pi * k * rng.uniform(0.3, 0.8)))
    x[stop:] += impact[:, np.newaxis] * _unit(rng)[np.newaxis, :]
    return x


_GENERATORS = (_idle, _walk, _shake, _tap, _freefall)


def motion_dataset(n_per_class=MOTION_N_PER_CLASS, seed=MOTION_SEED):
    """A synthetic 3-axis accelerometer gesture set: ``(x, y, class_names)``.

    ``x`` is float32 ``(N, 1, T, 3)`` with T = 64 samples at 50 Hz (1.28 s windows): the
    accelerations along the board's x, y and z axes in g, as an accelerometer reports
    them (gravity included, +-4 g full scale, 0.02 g noise). The height-1 axis lets a
    Conv2D with a (1, k) kernel act as a 1-D convolution over time. ``y`` holds int64
    class indices into ``class_names``:

    - idle: lying still (gravity at a random tilt, slow wobble);
    - walk: carried while walking (1.5-2.3 Hz step bounce, harmonic, sway);
    - shake: shaken by hand (3.5-7 Hz, 0.8-2.5 g along a random direction);
    - tap: a resting board tapped once or twice (short ringing spikes);
    - freefall: dropped (0 g for 0.16-0.5 s, then an impact and a new orientation).

    Timing, amplitude, frequency and orientation are drawn at random per window; the
    same ``(n_per_class, seed)`` always gives the same arrays, classes interleaved.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(MOTION_LENGTH) / MOTION_RATE_HZ
    n_classes = len(MOTION_CLASSES)
    x = np.empty((n_per_class * n_classes, MOTION_LENGTH, 3))
    y = np.empty(n_per_class * n_classes, dtype=np.int64)
    for i in range(n_per_class):
        for c, gen in enumerate(_GENERATORS):
            j = i * n_classes + c
            x[j] = gen(rng, t) + rng.normal(scale=MOTION_NOISE_G, size=(MOTION_LENGTH, 3))
            y[j] = c
    x = np.clip(x, -MOTION_RANGE_G, MOTION_RANGE_G).astype(np.float32)
    return x[:, np.newaxis, :, :], y, MOTION_CLASSES


def motion_split(n_per_class=MOTION_N_PER_CLASS, seed=MOTION_SEED, test_size=0.25):
    """:func:`motion_dataset` split as ``(x_train, x_test, y_train, y_test)``: stratified,
    fixed ``random_state`` (750 training and 250 test windows by default)."""
    from sklearn.model_selection import train_test_split

    x, y, _ = motion_dataset(n_per_class, seed)
    return train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
