"""A fast engine for sweeps: the schedule of docs/microarchitecture.md section 8 without SimPy.

The SimPy model (:mod:`accelsim.sim.engine`) is the reference; this engine computes the same
cycles with a compiled loop over DDR requests, hundreds of times faster, for sweeps where speed
matters. It shares *what* is moved and computed with the reference: the layers' views
(:func:`~accelsim.sim.plan.layer_view`), their tiling (:func:`~accelsim.sim.plan.tile_datapath_layer`:
tile rows, row groups, steps, bytes per row), the weight transfers and the per-layer figures
(:func:`~accelsim.sim.engine.layer_result`); and re-derives *when* it happens, from the rules:

- a load's first request waits for its trigger (layer start, or the start of the first tile
  reading the previous load of its stream), for the previous load of its stream, and for its
  half (the end of the last tile reading the load two before); its next request is made when
  its previous one ends;
- tile ``t`` starts when tile ``t-1`` has ended, its loads have ended and the store of tile
  ``t-2`` has ended;
- the store of tile ``t`` is requested when tile ``t`` and the store of ``t-1`` have ended;
- the DDR channel, when free, grants the earliest request; ties go to store, input, weight.

Every request not yet known depends on a transfer not yet granted, which ends after the next
grant, so granting the earliest known request (ties by priority) at ``max(channel free, its
request cycle)`` is exact. Its results equal the reference's field by field (the trace is not
kept and ``sim_events`` is 0); ``tests/test_dse_fastsim.py`` checks it, and a sweep re-checks a
sample of its points against the reference (:mod:`accelsim.dse.rows`).

**How it is fast.** A network is prepared once per process (:class:`FastNetwork`): its views per
``pe.tn`` (the DDR shapes of flattened maps and the concatenations depend on it), its tiling per
(``pe``, ``buffers``, ``act_bits``) as flat integer arrays (tiles are never built as objects:
tile ``t`` of row group ``r`` and channel group ``n`` is ``r * N + n``, its cycles
``rows_r * W_out * steps_n + D``, the rules of :func:`~accelsim.sim.plan.plan_datapath_layer`), and
its weight transfers per (those, ``weight_bits``, ``ddr.bytes_per_cycle``), each in a bounded
cache. A design point then costs one call of the Numba loop (:mod:`accelsim.dse.fastkernel`)
over those arrays, with its DDR latency and request size, and the figures. A configuration the
binding refuses (a buffer too small, a width too narrow, a concatenation off the channel blocks)
is bound by :func:`~accelsim.sim.plan.plan_network` itself, so its error is the reference's, word
for word.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ..errors import AccelsimError
from ..hw.config import HwConfig
from ..hw.resources import require_fits
from ..integer.graph import ConvLayer, IntegerNetwork, LinearLayer
from ..sim import LayerResult, SimulationResult
from ..sim.engine import layer_result
from ..sim.plan import (
    DatapathLayer,
    DatapathTiling,
    EventKind,
    LayerKind,
    LayerPlan,
    Unit,
    _weight_transfer,
    check_arguments,
    check_weight_format,
    concat_slices,
    ddr_shape,
    layer_view,
    plan_network,
    reads_slice,
    tile_datapath_layer,
    weight_formats,
)

#: Entries kept by each cache of a prepared network (views, tilings, weight transfers).
CACHE_ENTRIES = 512
#: Prepared networks kept per process (the most recently used).
NETWORKS_KEPT = 8


class _Lru(collections.OrderedDict):  # type: ignore[type-arg]
    """A dict that keeps its ``limit`` most recently used entries."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def get_or(self, key: Hashable, make: Any) -> Any:
        """The entry of ``key``, made by ``make()`` (and kept) if absent."""
        try:
            self.move_to_end(key)
            return self[key]
        except KeyError:
            value = self[key] = make()
            if len(self) > self.limit:
                self.popitem(last=False)
            return value


class _Refused(Exception):
    """The binding refuses this configuration: :func:`plan_network` raises the reference's error."""


@dataclass(frozen=True)
class _LayerFigures:
    """What :func:`~accelsim.sim.engine.layer_result` reads of a layer plan (tiles as a count)."""

    name: str
    kind: LayerKind
    unit: Unit
    tile_rows: int
    row_groups: int
    channel_groups: int
    input_groups: int
    passes: int
    macs: int
    dense_macs: int
    ddr_bytes_read: int
    ddr_bytes_written: int
    tiles: range


@dataclass(frozen=True)
class _Tiling:
    """A network's tiling on one (``pe``, ``buffers``, ``act_bits``) as the kernel's arrays."""

    views: tuple[DatapathLayer | LayerPlan, ...]
    tilings: tuple[DatapathTiling | None, ...]
    arrays: dict[str, np.ndarray]
    read_in: tuple[int, ...]  # per layer: input bytes read
    written: tuple[int, ...]  # per layer: bytes written


@dataclass(frozen=True)
class _Bound:
    """The tiling plus the weight transfers of one (``weight_bits``, ``ddr.bytes_per_cycle``)."""

    tiling: _Tiling
    weight_bytes: np.ndarray
    weight_bits: np.ndarray
    figures: tuple[_LayerFigures | LayerPlan, ...]


class FastNetwork:
    """A network prepared for the fast engine: its bindings cached by what they depend on.

    :meth:`simulate` gives the result :func:`accelsim.sim.simulate` gives (without trace, with
    ``sim_events = 0``) or raises the same error.
    """

    def __init__(self, network: IntegerNetwork) -> None:
        self.network = network
        self._views = _Lru(CACHE_ENTRIES)
        self._tilings = _Lru(CACHE_ENTRIES)
        self._bound = _Lru(CACHE_ENTRIES)
        weighted = [layer for layer in network.layers if isinstance(layer, (ConvLayer, LinearLayer))]
        self._formats = weight_formats(network)
        #: Narrowest act, weight and accumulator widths that bind every layer (``plan._check_widths``).
        self._widths = (max((layer.output.bits for layer in network.layers), default=0),
                        max((layer.weight_bits for layer in weighted), default=0),
                        max((layer.acc_bits for layer in weighted), default=0))

    def simulate(self, config: HwConfig, *, fit_checked: bool = False) -> SimulationResult:
        """One inference on ``config`` (``fit_checked``: the caller has already required the design to
        fit its device, as :func:`~accelsim.hw.config.config_from_dict` does).

        Raises:
            ConfigError, UnsupportedLayerError: as :func:`accelsim.sim.plan.plan_network`.
        """
        check_weight_format(self.network.name, self._formats, config.pe.kind)
        if not fit_checked:
            require_fits(config, f"configuration {config.name!r}")
        try:
            bound = self._bind(config)
        except _Refused:
            plan_network(self.network, config)  # raises the reference's error
            raise AssertionError(f"the fast binding refused configuration {config.name!r}, "
                                 "the reference binds it") from None
        from . import fastkernel as k  # imports Numba: only when a design is simulated

        arrays, ddr = bound.tiling.arrays, config.ddr
        out = k.simulate_network(
            *(arrays[name] for name in k.ARRAYS), bound.weight_bytes, bound.weight_bits,
            config.pe.pipeline_depth, ddr.bytes_per_cycle, ddr.burst_bytes // ddr.bytes_per_cycle, ddr.latency_cycles,
        ).tolist()
        layers: list[LayerResult] = []
        for figures, row in zip(bound.figures, out):
            if row[k.END] == k.DEADLOCK:
                raise AssertionError(f"layer {figures.name} deadlocked")
            busy, last = row[k.COMPUTE], row[k.LAST]
            spans = [(last - busy, last)] if len(figures.tiles) else []  # all it reads: their sum and the last end
            peaks = {EventKind.LOAD_INPUT: row[k.PEAK_INPUT], EventKind.LOAD_WEIGHT: row[k.PEAK_WEIGHT],
                     EventKind.STORE_OUTPUT: row[k.PEAK_OUTPUT]}
            layers.append(layer_result(cast(LayerPlan, figures), spans, config, row[k.START], row[k.END],
                                       row[k.DDR_BUSY], peaks))
        total = layers[-1].end_cycle if layers else 0
        return SimulationResult(network=self.network.name, config=config, layers=tuple(layers), trace=(),
                                total_cycles=total, sim_events=0)

    # ------------------------------------------------------------------------------ binding

    def _bind(self, config: HwConfig) -> _Bound:
        pe, ddr = config.pe, config.ddr
        act, weight, acc = self._widths
        if config.act_bits < act or config.weight_bits < weight or config.acc_bits < acc:
            raise _Refused
        key = (pe, config.buffers, config.act_bits, config.weight_bits, ddr.bytes_per_cycle)
        bound = self._bound.get_or(key, lambda: self._bind_weights(config))
        if bound is None:
            raise _Refused
        return cast(_Bound, bound)

    def _views_of(self, config: HwConfig) -> tuple[DatapathLayer | LayerPlan, ...] | None:
        """Each layer's view, as :func:`plan_network` makes them for ``config.pe.tn``; None if refused."""
        try:
            places = concat_slices(self.network, config)
            shapes: dict[str, tuple[int, ...]] = {"input": self.network.input.shape}
            views = []
            for layer in self.network.layers:
                views.append(layer_view(layer, shapes, reads_slice(layer, places)))
                shapes[layer.name] = ddr_shape(layer, shapes, config)
        except AccelsimError:
            return None
        return tuple(views)

    def _tiling_of(self, config: HwConfig) -> _Tiling | None:
        views = self._views.get_or(config.pe.tn, lambda: self._views_of(config))
        if views is None:
            return None
        try:
            tilings = tuple(None if isinstance(view, LayerPlan) else tile_datapath_layer(view, config)
                            for view in views)
        except AccelsimError:
            return None
        return _tiling_arrays(views, tilings, config)

    def _bind_weights(self, config: HwConfig) -> _Bound | None:
        key = (config.pe, config.buffers, config.act_bits)
        tiling = self._tilings.get_or(key, lambda: self._tiling_of(config))
        if tiling is None:
            return None
        tiling = cast(_Tiling, tiling)
        weight_bytes: list[int] = []
        weight_bits: list[int] = []
        figures: list[_LayerFigures | LayerPlan] = []
        pe = config.pe
        for view, layer_tiling, read_in, written in zip(tiling.views, tiling.tilings, tiling.read_in, tiling.written):
            if isinstance(view, LayerPlan):
                figures.append(view)
                continue
            assert layer_tiling is not None
            transfers = {steps: _weight_transfer(view, config, steps) for steps in set(layer_tiling.steps)} \
                if view.params else {}
            for steps in layer_tiling.steps:
                transfer, bits = transfers[steps] if view.params else (None, 0)
                if transfer is not None:
                    assert transfer.segments == 1
                weight_bytes.append(transfer.segment_bytes if transfer is not None else 0)
                weight_bits.append(bits)
            groups_out, row_groups = layer_tiling.groups_out, len(layer_tiling.row_ranges)
            if not view.params:
                read_weights = 0
            elif groups_out == 1:
                read_weights = transfers[layer_tiling.steps[0]][0].nbytes
            else:
                read_weights = row_groups * sum(transfers[steps][0].nbytes for steps in layer_tiling.steps)
            pixels_out = view.h_out * view.w_out
            blocks = view.blocks(pe.kernel_max) if view.vector else (0, 0)
            figures.append(_LayerFigures(
                name=view.name, kind=view.kind, unit=Unit.VECTOR if view.vector else Unit.PE,
                tile_rows=layer_tiling.tile_rows, row_groups=row_groups, channel_groups=groups_out,
                input_groups=view.operands * layer_tiling.groups,
                passes=blocks[0] * blocks[1] if view.vector else layer_tiling.passes,
                macs=view.nonzeros * pixels_out, dense_macs=view.weights * pixels_out,
                ddr_bytes_read=read_in + read_weights, ddr_bytes_written=written,
                tiles=range(row_groups * groups_out),
            ))
        return _Bound(tiling, np.array(weight_bytes, dtype=np.int64), np.array(weight_bits, dtype=np.int64),
                      tuple(figures))


def _tiling_arrays(views: tuple[DatapathLayer | LayerPlan, ...], tilings: tuple[DatapathTiling | None, ...],
                   config: HwConfig) -> _Tiling:
    """The kernel's arrays of a network's tiling (the loads, tiles and stores of
    :func:`~accelsim.sim.plan.plan_datapath_layer`, by row group and channel group)."""
    from .fastkernel import NO_WEIGHTS, ONE_WEIGHT_LOAD, WEIGHTS_PER_TILE

    pe, a = config.pe, config.act_bits
    per_layer: dict[str, list[int]] = {name: [] for name in (
        "tiles", "groups", "row_groups", "width_out", "weight_mode", "row_offset", "group_offset", "store_row",
        "store_row_bits")}
    rows_out: list[int] = []
    transfers_in: list[int] = []
    segments_in: list[tuple[int, int]] = []
    segment_bytes_in: list[tuple[int, int]] = []
    bits_in: list[int] = []
    steps: list[int] = []
    read_in: list[int] = []
    written: list[int] = []
    for view, tiling in zip(views, tilings):
        per_layer["row_offset"].append(len(rows_out))
        per_layer["group_offset"].append(len(steps))
        if tiling is None or isinstance(view, LayerPlan):
            for name in ("tiles", "groups", "row_groups", "width_out", "weight_mode", "store_row", "store_row_bits"):
                per_layer[name].append(0)
            read_in.append(0)
            written.append(0)
            continue
        groups_out, row_groups = tiling.groups_out, len(tiling.row_ranges)
        strided = view.strided or (False,) * view.operands
        layer_read = layer_rows = 0
        for (first, end), rows_in in zip(tiling.row_ranges, tiling.rows_in):
            rows_out.append(end - first)
            layer_rows += end - first
            # Transfer(rows_in, in_row) per operand sliced from a concatenation, else Transfer(1, rows_in * in_row);
            # empty ones dropped (plan._nonzero)
            parts = [(rows_in, tiling.in_row) if sliced else (1, rows_in * tiling.in_row) for sliced in strided]
            parts = [part for part in parts if part[0] * part[1] > 0]
            layer_read += sum(count * size for count, size in parts)
            parts += [(0, 0)] * (2 - len(parts))
            transfers_in.append(sum(count * size > 0 for count, size in parts))
            segments_in.append((parts[0][0], parts[1][0]))
            segment_bytes_in.append((parts[0][1], parts[1][1]))
            bits_in.append(8 * view.operands * rows_in * tiling.in_row)
        steps.extend(tiling.steps)
        mode = NO_WEIGHTS if not view.params else ONE_WEIGHT_LOAD if groups_out == 1 else WEIGHTS_PER_TILE
        for name, value in (("tiles", row_groups * groups_out), ("groups", groups_out), ("row_groups", row_groups),
                            ("width_out", view.w_out), ("weight_mode", mode), ("store_row", tiling.store_row),
                            ("store_row_bits", view.w_out * pe.tn * a)):
            per_layer[name].append(value)
        read_in.append(layer_read)
        written.append(groups_out * layer_rows * tiling.store_row)
    arrays = {name: np.array(values, dtype=np.int64) for name, values in per_layer.items()}
    arrays.update(
        rows_out=np.array(rows_out, dtype=np.int64), transfers_in=np.array(transfers_in, dtype=np.int64),
        segments_in=np.array(segments_in, dtype=np.int64).reshape(-1, 2),
        segment_bytes_in=np.array(segment_bytes_in, dtype=np.int64).reshape(-1, 2),
        bits_in=np.array(bits_in, dtype=np.int64), steps=np.array(steps, dtype=np.int64),
    )
    return _Tiling(views, tilings, arrays, tuple(read_in), tuple(written))


#: Prepared networks of this process, by identity (each kept alive while it is here).
_PREPARED: _Lru = _Lru(NETWORKS_KEPT)


def prepared(network: IntegerNetwork) -> FastNetwork:
    """The :class:`FastNetwork` of ``network`` in this process (prepared on first use)."""
    entry = _PREPARED.get_or(id(network), lambda: FastNetwork(network))
    if entry.network is not network:  # an id reused after its network was dropped
        entry = _PREPARED[id(network)] = FastNetwork(network)
    return cast(FastNetwork, entry)


def fast_simulate(network: IntegerNetwork, config: HwConfig, *, fit_checked: bool = False) -> SimulationResult:
    """One inference of ``network`` on ``config`` by the fast engine (bound and checked first):
    what :func:`accelsim.sim.simulate` returns without trace, ``sim_events`` 0.

    ``fit_checked``: the caller has already required the design to fit its device.

    Raises:
        ConfigError: as :func:`accelsim.sim.simulate`.
    """
    check_arguments(network, config)
    return prepared(network).simulate(config, fit_checked=fit_checked)


def fast_simulate_many(network: IntegerNetwork, configs: Iterable[HwConfig], *,
                       fit_checked: bool = False) -> list[SimulationResult | AccelsimError]:
    """:func:`fast_simulate` of each configuration of a batch sharing ``network``: its result, or the
    error that configuration raises."""
    fast = prepared(network)
    results: list[SimulationResult | AccelsimError] = []
    for config in configs:
        try:
            results.append(fast.simulate(config, fit_checked=fit_checked))
        except AccelsimError as error:
            results.append(error)
    return results
