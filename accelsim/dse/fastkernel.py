"""The fast engine's schedule loop, compiled with Numba: one network on one configuration.

:mod:`accelsim.dse.fastsim` describes the network's layers as flat integer arrays (the tiling of
:func:`accelsim.sim.plan.tile_datapath_layer` and the weight transfers of the configuration) and
calls :func:`simulate_network`, which applies the rules of ``docs/microarchitecture.md`` section 8
layer after layer and returns, per layer, the cycles and peaks :func:`accelsim.sim.engine.layer_result`
turns into a :class:`~accelsim.sim.LayerResult`. Everything is int64; ``-1`` means "not known yet".

Compiled on first use and cached on disk (``cache=True``), like the integer kernels; importing this
module imports Numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Columns of the per-layer output of :func:`simulate_network`.
START, END, COMPUTE, LAST, DDR_BUSY, PEAK_INPUT, PEAK_WEIGHT, PEAK_OUTPUT = range(8)
#: Weight streams of a layer: none, one load for every tile (one channel group), one load per tile.
NO_WEIGHTS, ONE_WEIGHT_LOAD, WEIGHTS_PER_TILE = 0, 1, 2
#: Layers :func:`simulate_network` could not finish (a deadlock): a bug, reported by the caller.
DEADLOCK = -2
#: The tiling arrays :func:`simulate_network` takes first, in order (then the weight transfers and scalars).
ARRAYS = ("tiles", "groups", "row_groups", "width_out", "weight_mode", "row_offset", "group_offset", "store_row",
          "store_row_bits", "rows_out", "transfers_in", "segments_in", "segment_bytes_in", "bits_in", "steps")


@njit(cache=True, inline="always")
def _requests(beats: int, per_request: int) -> int:
    """Requests a transfer of ``beats`` beats is split into (``plan.bursts``)."""
    return -(-beats // per_request)


@njit(cache=True, inline="always")
def _occupancy(beats: int, per_request: int, index: int, latency: int) -> int:
    """Channel cycles of request ``index`` of a transfer of ``beats`` beats: full ones, then the rest."""
    full = beats // per_request
    return latency + (per_request if index < full else beats - full * per_request)


@njit(cache=True)
def _sorted_order(values: np.ndarray) -> np.ndarray:
    """Indices of ``values`` in ascending order (the identity when already sorted, as usual)."""
    for i in range(1, values.shape[0]):
        if values[i] < values[i - 1]:
            return np.argsort(values, kind="mergesort")
    return np.arange(values.shape[0])


@njit(cache=True)
def _peak(acquire: np.ndarray, release: np.ndarray, bits: np.ndarray) -> int:
    """Largest total bits held by half-open holds ``[acquire, release)``, a release counted before an
    acquisition at the same cycle (``fastsim``'s former event sweep): after the acquisitions at
    cycle ``x``, ``sum(bits, acquire <= x) - sum(bits, release <= x)``."""
    count = acquire.shape[0]
    by_acquire, by_release = _sorted_order(acquire), _sorted_order(release)
    peak = held = released = 0
    i = j = 0
    while i < count:
        at = acquire[by_acquire[i]]
        while i < count and acquire[by_acquire[i]] == at:
            held += bits[by_acquire[i]]
            i += 1
        while j < count and release[by_release[j]] <= at:
            released += bits[by_release[j]]
            j += 1
        peak = max(peak, held - released)
    return peak


@njit(cache=True)
def _layer(out: np.ndarray, layer: int, origin: int, tiles: int, groups: int, row_groups: int, width_out: int,
           weight_mode: int, store_row: int, store_row_bits: int,
           rows_out: np.ndarray, transfers_in: np.ndarray, segments_in: np.ndarray, segment_bytes_in: np.ndarray,
           bits_in: np.ndarray, steps: np.ndarray, weight_bytes: np.ndarray, weight_bits: np.ndarray,
           depth: int, width: int, per_request: int, latency: int) -> int:
    """Simulate one layer from cycle ``origin``; write its row of ``out``; return its end (or DEADLOCK).

    Row group ``r`` (arrays of length ``row_groups``): ``rows_out[r]`` output rows, input transfers
    ``k < transfers_in[r]`` of ``segments_in[r, k]`` segments of ``segment_bytes_in[r, k]`` bytes,
    ``bits_in[r]`` bits of its input half. Channel group ``n`` (length ``groups``): ``steps[n]`` per
    output pixel, a weight load of ``weight_bytes[n]`` bytes (one segment) holding ``weight_bits[n]``.
    Tile ``t = r * groups + n``.
    """
    # requests of every job
    beats0 = np.zeros(row_groups, np.int64)
    beats1 = np.zeros(row_groups, np.int64)
    first_requests = np.zeros(row_groups, np.int64)
    input_requests = np.zeros(row_groups, np.int64)
    store_beats = np.zeros(row_groups, np.int64)
    store_requests = np.zeros(row_groups, np.int64)
    row_beats = -(-store_row // width)
    for r in range(row_groups):
        if transfers_in[r] > 0:
            beats0[r] = segments_in[r, 0] * -(-segment_bytes_in[r, 0] // width)
        if transfers_in[r] > 1:
            beats1[r] = segments_in[r, 1] * -(-segment_bytes_in[r, 1] // width)
        first_requests[r] = _requests(beats0[r], per_request)
        input_requests[r] = first_requests[r] + _requests(beats1[r], per_request)
        store_beats[r] = rows_out[r] * row_beats
        store_requests[r] = _requests(store_beats[r], per_request)
    weight_beats = np.zeros(groups, np.int64)
    weight_requests = np.zeros(groups, np.int64)
    for n in range(groups):
        weight_beats[n] = -(-weight_bytes[n] // width)
        weight_requests[n] = _requests(weight_beats[n], per_request)
    weight_jobs = 0 if weight_mode == NO_WEIGHTS else (1 if weight_mode == ONE_WEIGHT_LOAD else tiles)

    starts = np.empty(tiles, np.int64)
    ends = np.empty(tiles, np.int64)
    started = 0
    input_start = np.full(row_groups, -1, np.int64)
    input_done = np.full(row_groups, -1, np.int64)
    weight_start = np.full(max(weight_jobs, 1), -1, np.int64)
    weight_done = np.full(max(weight_jobs, 1), -1, np.int64)
    store_done = np.full(tiles, -1, np.int64)
    input_job = input_index = weight_job = weight_index = store_job = store_index = 0
    input_ready = weight_ready = store_ready = -1
    free = origin
    busy = 0
    while True:
        changed = True
        while changed:  # start every tile, load and store whose conditions are known
            changed = False
            while started < tiles:
                t = started
                r = t // groups
                wait = ends[t - 1] if t > 0 else origin
                known = input_done[r]
                if known < 0:
                    break
                wait = max(wait, known)
                if weight_mode != NO_WEIGHTS:
                    known = weight_done[t if weight_mode == WEIGHTS_PER_TILE else 0]
                    if known < 0:
                        break
                    wait = max(wait, known)
                if t >= 2:
                    known = store_done[t - 2]
                    if known < 0:
                        break
                    wait = max(wait, known)
                starts[t] = wait
                ends[t] = wait + rows_out[r] * width_out * steps[t - r * groups] + depth
                started += 1
                changed = True
            while input_ready < 0 and input_job < row_groups:  # input load j: tiles j*N .. j*N + N-1
                j = input_job
                trigger = half = previous = origin
                if j > 0:
                    if (j - 1) * groups >= started:
                        break
                    trigger = starts[(j - 1) * groups]
                    previous = input_done[j - 1]
                if j > 1:
                    if (j - 1) * groups - 1 >= started:
                        break
                    half = ends[(j - 1) * groups - 1]
                at = max(trigger, half, previous)
                input_start[j] = at
                if input_requests[j] > 0:
                    input_ready = at
                else:
                    input_done[j] = at
                    input_job += 1
                    changed = True
            while weight_ready < 0 and weight_job < weight_jobs:  # per tile: load j read by tile j
                j = weight_job
                trigger = half = previous = origin
                if j > 0:
                    if j - 1 >= started:
                        break
                    trigger = starts[j - 1]
                    previous = weight_done[j - 1]
                if j > 1:
                    if j - 2 >= started:
                        break
                    half = ends[j - 2]
                at = max(trigger, half, previous)
                weight_start[j] = at
                if weight_requests[j % groups] > 0:
                    weight_ready = at
                else:
                    weight_done[j] = at
                    weight_job += 1
                    changed = True
            while store_ready < 0 and store_job < started:
                previous = store_done[store_job - 1] if store_job > 0 else origin
                at = max(ends[store_job], previous)
                if store_requests[store_job // groups] > 0:
                    store_ready = at
                else:
                    store_done[store_job] = at
                    store_job += 1
                    changed = True
        # the DDR channel grants the earliest request; ties: store, input, weight
        engine = -1
        best = 0
        if store_ready >= 0:
            engine, best = 0, store_ready
        if input_ready >= 0 and (engine < 0 or input_ready < best):
            engine, best = 1, input_ready
        if weight_ready >= 0 and (engine < 0 or weight_ready < best):
            engine, best = 2, weight_ready
        if engine < 0:
            break
        start = max(free, best)
        if engine == 0:
            r = store_job // groups
            end = start + _occupancy(store_beats[r], per_request, store_index, latency)
            store_index += 1
            if store_index == store_requests[r]:
                store_done[store_job] = end
                store_job += 1
                store_index = 0
                store_ready = -1
            else:
                store_ready = end
        elif engine == 1:
            j = input_job
            if input_index < first_requests[j]:
                end = start + _occupancy(beats0[j], per_request, input_index, latency)
            else:
                end = start + _occupancy(beats1[j], per_request, input_index - first_requests[j], latency)
            input_index += 1
            if input_index == input_requests[j]:
                input_done[j] = end
                input_job += 1
                input_index = 0
                input_ready = -1
            else:
                input_ready = end
        else:
            n = weight_job % groups
            end = start + _occupancy(weight_beats[n], per_request, weight_index, latency)
            weight_index += 1
            if weight_index == weight_requests[n]:
                weight_done[weight_job] = end
                weight_job += 1
                weight_index = 0
                weight_ready = -1
            else:
                weight_ready = end
        free = end
        busy += end - start
    if started < tiles or store_job < tiles:
        return DEADLOCK
    compute = 0
    for t in range(tiles):
        compute += ends[t] - starts[t]
    last_reader = np.empty(row_groups, np.int64)
    for r in range(row_groups):
        last_reader[r] = ends[r * groups + groups - 1]
    store_bits = np.empty(tiles, np.int64)
    for t in range(tiles):
        store_bits[t] = rows_out[t // groups] * store_row_bits
    if weight_mode == WEIGHTS_PER_TILE:
        held = np.empty(tiles, np.int64)
        for t in range(tiles):
            held[t] = weight_bits[t % groups]
        out[layer, PEAK_WEIGHT] = _peak(weight_start, ends, held)
    elif weight_mode == ONE_WEIGHT_LOAD:
        out[layer, PEAK_WEIGHT] = _peak(weight_start, ends[tiles - 1:], weight_bits[:1])
    out[layer, PEAK_INPUT] = _peak(input_start, last_reader, bits_in)
    out[layer, PEAK_OUTPUT] = _peak(starts, store_done, store_bits)
    out[layer, START] = origin
    out[layer, END] = store_done[tiles - 1]
    out[layer, COMPUTE] = compute
    out[layer, LAST] = ends[tiles - 1]
    out[layer, DDR_BUSY] = busy
    return store_done[tiles - 1]


@njit(cache=True)
def simulate_network(tiles: np.ndarray, groups: np.ndarray, row_groups: np.ndarray, width_out: np.ndarray,
                     weight_mode: np.ndarray, row_offset: np.ndarray, group_offset: np.ndarray,
                     store_row: np.ndarray, store_row_bits: np.ndarray,
                     rows_out: np.ndarray, transfers_in: np.ndarray, segments_in: np.ndarray,
                     segment_bytes_in: np.ndarray, bits_in: np.ndarray,
                     steps: np.ndarray, weight_bytes: np.ndarray, weight_bits: np.ndarray,
                     depth: int, width: int, per_request: int, latency: int) -> np.ndarray:
    """Every layer in order, each from the end of the one before; a row of 8 figures per layer
    (columns :data:`START` ...). Per-layer arrays are indexed by layer; row-group arrays from
    ``row_offset[layer]``, channel-group arrays from ``group_offset[layer]``. A layer without tiles
    (flatten, concatenation) takes no cycle. ``END`` is :data:`DEADLOCK` for a layer that deadlocked."""
    layers = tiles.shape[0]
    out = np.zeros((layers, 8), np.int64)
    cycle = 0
    for layer in range(layers):
        if tiles[layer] == 0:
            out[layer, START] = cycle
            out[layer, END] = cycle
            out[layer, LAST] = cycle
            continue
        r0, r1 = row_offset[layer], row_offset[layer] + row_groups[layer]
        g0, g1 = group_offset[layer], group_offset[layer] + groups[layer]
        end = _layer(out, layer, cycle, tiles[layer], groups[layer], row_groups[layer], width_out[layer],
                     weight_mode[layer], store_row[layer], store_row_bits[layer],
                     rows_out[r0:r1], transfers_in[r0:r1], segments_in[r0:r1], segment_bytes_in[r0:r1],
                     bits_in[r0:r1], steps[g0:g1], weight_bytes[g0:g1], weight_bits[g0:g1],
                     depth, width, per_request, latency)
        if end == DEADLOCK:
            out[layer, END] = DEADLOCK
            return out
        cycle = end
    return out
