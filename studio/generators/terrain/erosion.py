"""Hydraulic (fluvial) and thermal erosion of a height field, vectorised with numpy.

Fluvial erosion is the stream-power law ``dh/dt = -K A^m S`` (A: upstream drainage area, S: slope, m = 1/2)
solved implicitly (Braun & Willett 2013), so any strength is stable. Both the drainage area and the implicit
solve are sums along the D8 flow tree; instead of walking the tree cell by cell they use *pointer doubling*:
after step k every cell knows its 2^k-th downstream cell, so a map whose longest river has L cells needs
only log2(L) whole-array steps (bincount for the areas, gathers for the solve).

Thermal erosion moves material down every slope steeper than the talus angle, in mass-conserving pair
fluxes along the four axes and the four diagonals.

Erosion runs on a ``WORK`` x ``WORK`` grid whatever the map size, and the *change* is resampled onto the
map, which keeps its own fine noise detail: valleys a few cells wide on the coarse grid read as real valleys,
and a 257 px preview erodes exactly like the 1025 px export. Heights and distances are metres.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import ndimage

from studio.generators.terrain.noise import Grid

WORK = 257  # side of the grid the rivers are computed on
TALUS = 0.9  # steepest stable slope (rise over run, ~42 degrees)
# The eight D8 neighbours (row, col offset).
OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _neighbour_index(shape: tuple[int, int], wrap: bool) -> np.ndarray:
    """(8, H*W) flat index of each cell's neighbours; off-map neighbours (no wrap) point at the cell itself."""
    rows, cols = shape
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    out = np.empty((8, rows * cols), dtype=np.int32)
    for k, (di, dj) in enumerate(OFFSETS):
        ni, nj = i + di, j + dj
        if wrap:
            ni, nj = ni % rows, nj % cols
        else:
            off = (ni < 0) | (ni >= rows) | (nj < 0) | (nj >= cols)
            ni, nj = np.where(off, i, ni), np.where(off, j, nj)
        out[k] = (ni * cols + nj).ravel()
    return out


def receivers(h: np.ndarray, nbr: np.ndarray, sink: np.ndarray, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """Steepest-descent (D8) receiver of every cell and the distance to it.

    ``sink`` (bool, flat) marks cells that keep their water (sea, map border); they and local minima get the
    receiver ``N`` (one past the last cell), which the doubling loops treat as "the path has ended".
    """
    flat = h.ravel()
    n = flat.size
    best = np.zeros(n, dtype=np.float32)
    direction = np.full(n, -1, dtype=np.int8)
    for k, (di, dj) in enumerate(OFFSETS):
        length = dx * (1.4142135 if di and dj else 1.0)
        drop = (flat - flat[nbr[k]]) * np.float32(1.0 / length)
        steeper = drop > best
        best = np.where(steeper, drop, best)
        direction[steeper] = k
    direction[sink] = -1
    recv = np.full(n, n, dtype=np.int32)
    dist = np.full(n, dx, dtype=np.float32)
    for k, (di, dj) in enumerate(OFFSETS):
        sel = direction == k
        recv[sel] = nbr[k][sel]
        if di and dj:
            dist[sel] = dx * 1.4142135
    return recv, dist


def route_depressions(
    h: np.ndarray, recv: np.ndarray, dist: np.ndarray, outlet: np.ndarray, dx: float, wrap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Let water out of closed depressions, so rivers run across the whole map instead of ending in pits.

    Every local pit drains a *basin* (the cells whose flow path ends there). Basins are joined at their
    lowest passes by a minimum spanning tree rooted at the outlets (sea, map border), as in Cordonnier et al.
    2019 ("Alleviating the cost of depressions"); each pit then sends its water over the pass into the next
    basin down the tree. Returns new ``(recv, dist)``; outlet sinks keep ``recv = N``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    flat = h.ravel()
    n = flat.size
    pits = np.flatnonzero(recv == n)
    if not outlet[pits].any():  # a tileable map with no sea: the lowest pit is the outlet
        outlet = outlet.copy()
        outlet[pits[np.argmin(flat[pits])]] = True
    # 1. Basin of every cell = the pit its flow path ends in (pointer jumping to the root).
    root = np.where(recv == n, np.arange(n, dtype=np.int32), recv)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    node_of_pit = np.zeros(n, dtype=np.int64)  # graph node: 0 = the outside (all outlet basins), k >= 1 pits
    inner = pits[~outlet[pits]]
    if inner.size == 0:
        return recv, dist
    node_of_pit[inner] = np.arange(1, inner.size + 1)
    node = node_of_pit[root]
    # 2. Lowest pass between each pair of touching basins (4-neighbour edges; pass height = higher side).
    idx = np.arange(n).reshape(h.shape)
    pairs = []
    for axis in (0, 1):
        a = idx if wrap else (idx[:-1, :] if axis == 0 else idx[:, :-1])
        b = np.roll(idx, -1, axis=axis) if wrap else (idx[1:, :] if axis == 0 else idx[:, 1:])
        a, b = a.ravel(), b.ravel()
        cross = node[a] != node[b]
        pairs.append((a[cross], b[cross]))
    ca = np.concatenate([p[0] for p in pairs])
    cb = np.concatenate([p[1] for p in pairs])
    na, nb = node[ca], node[cb]
    lo, hi = np.minimum(na, nb), np.maximum(na, nb)
    key = lo * (inner.size + 1) + hi
    height = np.maximum(flat[ca], flat[cb])
    order = np.lexsort((height, key))
    first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
    # 3. Minimum spanning tree of basins (weights must be > 0 for scipy), oriented from the outside.
    weight = height[first] - float(flat.min()) + 1.0
    graph = coo_matrix((weight, (lo[first], hi[first])), shape=(inner.size + 1,) * 2).tocsr()
    tree = minimum_spanning_tree(graph)
    _, parent = breadth_first_order(tree, 0, directed=False, return_predecessors=True)
    # 4. Each inner pit drains over its pass into the parent basin.
    child = np.arange(1, inner.size + 1)
    ok = parent[child] >= 0
    child = child[ok]
    want = np.minimum(child, parent[child]) * (inner.size + 1) + np.maximum(child, parent[child])
    keys = key[first]
    srt = np.argsort(keys)
    edge = first[srt[np.searchsorted(keys[srt], want)]]
    target = np.where(node[ca[edge]] == parent[child], ca[edge], cb[edge])
    pit = inner[child - 1]
    recv = recv.copy()
    dist = dist.copy()
    recv[pit] = target
    rows, cols = h.shape
    di = np.abs(pit // cols - target // cols)
    dj = np.abs(pit % cols - target % cols)
    if wrap:
        di, dj = np.minimum(di, rows - di), np.minimum(dj, cols - dj)
    dist[pit] = dx * np.maximum(1.0, np.hypot(di, dj))
    return recv, dist


def drainage(recv: np.ndarray, cell_area: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Upstream area (m^2) of every cell, and the doubling levels R_k (cell -> its 2^k-th downstream cell).

    S_{k+1} = S_k + push(S_k along R_k) sums the geometric series of the flow matrix in log2(L) steps.
    """
    n = recv.size
    r = np.append(recv, np.int32(n))
    s = np.full(n + 1, cell_area, dtype=np.float64)
    s[n] = 0.0
    levels = []
    while not np.all(r[:n] == n):
        levels.append(r)
        s = s + np.bincount(r, weights=s, minlength=n + 1)
        s[n] = 0.0
        r = r[r]
    return s[:n], levels


def stream_power(
    h: np.ndarray, area: np.ndarray, dist: np.ndarray, recv: np.ndarray, levels: list[np.ndarray], k: float
) -> np.ndarray:
    """One implicit stream-power step: h'_i = (h_i + F_i h'_r) / (1 + F_i), F = k sqrt(A) / L.

    Written as h'_i = a_i + b_i h'_{R(i)} and composed by doubling: (a, b) <- (a + b a[R_k], b b[R_k]).
    """
    n = recv.size
    flat = h.ravel().astype(np.float64)
    f = k * np.sqrt(area) / dist
    f[recv == n] = 0.0  # sinks keep their height: they are the base level
    a = np.append(flat / (1.0 + f), 0.0)
    b = np.append(f / (1.0 + f), 0.0)
    for r in levels:
        a = a + b * a[r]
        b = b * b[r]
    return a[:n].reshape(h.shape).astype(np.float32)


def _shift(a: np.ndarray, di: int, dj: int, wrap: bool, fill: Literal["edge", "constant"] = "edge") -> np.ndarray:
    """a[i + di, j + dj], wrapping around or, off the map, edge-clamped (``fill="edge"``) or zero."""
    if wrap:
        return np.roll(a, (-di, -dj), axis=(0, 1))
    p = np.pad(a, 1, mode=fill)
    return p[1 + di : 1 + di + a.shape[0], 1 + dj : 1 + dj + a.shape[1]]


def thermal(h: np.ndarray, dx: float, talus: float, iterations: int, wrap: bool, rate: float = 0.2) -> np.ndarray:
    """Slide material down slopes steeper than ``talus`` (rise over run) until they relax towards it."""
    h = h.astype(np.float32, copy=True)
    pairs = ((0, 1, dx), (1, 0, dx), (1, 1, dx * 1.4142135), (1, -1, dx * 1.4142135))
    for _ in range(iterations):
        delta = np.zeros_like(h)
        for di, dj, length in pairs:
            d = h - _shift(h, di, dj, wrap)  # > 0: this cell is higher than its neighbour
            excess = np.sign(d) * np.maximum(np.abs(d) - np.float32(talus * length), 0.0)
            flux = np.float32(rate * 0.5) * excess
            if not wrap:  # nothing flows across the map border
                if di:
                    flux[-1, :] = 0.0
                if dj:
                    flux[:, -1 if dj > 0 else 0] = 0.0
            delta -= flux
            delta += _shift(flux, -di, -dj, wrap, fill="constant")
        h += delta
    return h


def erode(
    h_m: np.ndarray,
    grid: Grid,
    extent_m: float,
    strength: float,
    base_m: float | None,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Erode a height field in metres on ``grid``'s working grid; returns (eroded heights, log10 drainage m^2).

    The rivers are computed on a ``WORK`` x ``WORK`` grid whatever the map size (a 257 px preview and a
    1025 px export erode alike) and the change is resampled onto the map. ``strength`` in [0, 1] sets the
    stream-power coefficient and the number of steps; cells at or below ``base_m`` (the sea) are base
    level. ``progress(step, total, desc)`` is called after each step.
    """
    m = h_m.shape[0]
    wrap = grid.tileable
    work_m = WORK - 1 if wrap else WORK
    work = grid.resample(h_m.astype(np.float32), work_m)
    dx = extent_m / (work_m if wrap else work_m - 1)
    nbr = _neighbour_index(work.shape, wrap)
    edge = np.zeros(work.shape, dtype=bool)
    if not wrap:
        edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    if base_m is not None:
        edge |= work <= base_m
    outlet = edge.ravel()

    steps = 0 if strength <= 0 else 2 + round(7 * strength)
    k = 0.09 * strength
    eroded = work
    for step in range(max(steps, 1)):
        recv, dist = receivers(eroded, nbr, outlet, dx)
        recv, dist = route_depressions(eroded, recv, dist, outlet, dx, wrap)
        area, levels = drainage(recv, dx * dx)
        if steps == 0:
            break
        eroded = stream_power(eroded, area, dist, recv, levels, k)
        eroded = thermal(eroded, dx, talus=TALUS, iterations=2, wrap=wrap)
        if progress is not None:
            progress(step + 1, steps, "eroding: rivers and slopes")
    log_area = grid.resample(np.log10(area).reshape(work.shape).astype(np.float32), m)
    if steps == 0:
        return h_m, log_area
    # Soften the change a little: D8 channels are one cell wide and run in eight directions only.
    delta = ndimage.gaussian_filter(eroded - work, sigma=0.9, mode="wrap" if wrap else "nearest")
    return h_m + grid.resample(delta, m), log_area
