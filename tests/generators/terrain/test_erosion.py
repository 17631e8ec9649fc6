"""Invariants of the terrain's numeric stages: noise tiling, resampling, drainage, stream power, thermal."""

from __future__ import annotations

import numpy as np
import pytest

from studio.generators.terrain import erosion as te
from studio.generators.terrain.noise import Grid, Layer, field, resample_matrix


def _flow(h: np.ndarray, wrap: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    outlet = np.zeros(h.shape, dtype=bool)
    if not wrap:
        outlet[0, :] = outlet[-1, :] = outlet[:, 0] = outlet[:, -1] = True
    nbr = te._neighbour_index(h.shape, wrap)
    recv, dist = te.receivers(h, nbr, outlet.ravel(), 1.0)
    recv, dist = te.route_depressions(h, recv, dist, outlet.ravel(), 1.0, wrap)
    return recv, dist, outlet.ravel()


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return field(Layer(seed=seed, frequency=4.0, octaves=4), Grid(n)) * 10.0


def test_tileable_noise_is_periodic_and_keeps_its_variance() -> None:
    grid = Grid(129, tileable=True)
    layer = Layer(seed=4, frequency=3.0, octaves=4)
    a = grid.close(field(layer, grid))
    assert np.array_equal(a[0], a[-1]) and np.array_equal(a[:, 0], a[:, -1])
    plain = field(layer, Grid(129))
    assert 0.7 < a.std() / plain.std() < 1.3


def test_resampling_rows_sum_to_one_and_keep_samples() -> None:
    for k, m, periodic in [(257, 1025, False), (1025, 257, False), (256, 1024, True), (1024, 256, True)]:
        w = resample_matrix(k, m, periodic)
        assert np.allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0, atol=1e-5)
    a = np.random.default_rng(0).random((65, 65)).astype(np.float32)
    assert np.allclose(Grid(257).resample(a)[::4, ::4], a, atol=1e-5)  # upsampling passes through samples


def test_drainage_area_adds_up_to_the_map() -> None:
    h = _noise(65)
    recv, _, outlet = _flow(h)
    area, _ = te.drainage(recv, 1.0)
    n = h.size
    ends = recv == n
    assert ends[~outlet].sum() == 0  # every pit drains somewhere: no closed basins are left
    assert area[ends].sum() == pytest.approx(n)  # all the rain leaves at the outlets, once
    assert area.min() >= 1.0


def test_depression_routing_has_no_cycles_on_a_torus() -> None:
    h = field(Layer(seed=9, frequency=4.0, octaves=4), Grid(65, tileable=True))
    recv, _, _ = _flow(h, wrap=True)
    area, levels = te.drainage(recv, 1.0)  # would never finish with a cycle
    assert (recv == h.size).sum() == 1 and area.max() == pytest.approx(h.size)
    assert len(levels) < 20


def test_stream_power_is_stable_and_keeps_base_level() -> None:
    h = _noise(65)
    recv, dist, outlet = _flow(h)
    area, levels = te.drainage(recv, 1.0)
    for k in (0.01, 1.0, 1e6):  # implicit: any coefficient is stable
        out = te.stream_power(h, area, dist, recv, levels, k)
        assert np.isfinite(out).all()
        assert np.array_equal(out.ravel()[outlet], h.ravel()[outlet])
        assert out.min() >= h.min() - 1e-4 and out.max() <= h.max() + 1e-4
    assert te.stream_power(h, area, dist, recv, levels, 1e6).std() < h.std()


def test_thermal_conserves_material_and_eases_slopes() -> None:
    h = _noise(65) * 5
    for wrap in (False, True):
        out = te.thermal(h, 1.0, talus=0.5, iterations=20, wrap=wrap)
        assert out.sum() == pytest.approx(h.sum(), rel=1e-5)
        assert np.abs(np.diff(out, axis=0)).max() < np.abs(np.diff(h, axis=0)).max()


def test_erode_returns_same_shape_and_zero_strength_is_identity() -> None:
    for grid in (Grid(129), Grid(129, tileable=True), Grid(513)):
        h = field(Layer(seed=1, frequency=3.0, octaves=5), grid) * 500.0
        same, log_area = te.erode(h, grid, 4000.0, 0.0, None)
        assert same is h and log_area.shape == h.shape
        eroded, _ = te.erode(h, grid, 4000.0, 0.8, None)
        assert eroded.shape == h.shape and np.isfinite(eroded).all()
        assert eroded.mean() < h.mean()  # rivers take material away
