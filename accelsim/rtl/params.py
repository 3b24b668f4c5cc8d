"""The Verilog parameters of the core for a hardware configuration, and what the RTL can realize.

:func:`rtl_parameters` turns a :class:`~accelsim.hw.HwConfig` into the parameters of
``accel_core`` (``accelsim/rtl/verilog/accel_core.v``): the contract's fields plus the RTL's own
buffer organization (docs/rtl.md, "Buffers"). Configurations the RTL cannot build are rejected
here, before any file is written, with a :class:`~accelsim.errors.ConfigError` naming the field.

>>> from accelsim.hw import load_config
>>> p = rtl_parameters(load_config("default"))
>>> p.kind, p.tn, p.tm, p.in_slots, p.w_lanes, p.w_interleave
(3, 8, 4, 8, 16, 8)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..hw.config import HwConfig, PeKind
from ..hw.intmath import bits_for, ceil_div

#: Activation width the RTL supports (DDR bytes are activations; docs/rtl.md).
RTL_ACT_BITS = 8
#: Smallest ``pe.pipeline_depth`` the RTL realizes: a step issued one cycle after the tile start
#: writes its pixel 9 cycles later, and the store prefetch needs its data 2 cycles before the end.
RTL_MIN_PIPELINE_DEPTH = 12
#: Largest GSNQ code width: the shifters cover shifts 0 .. 2^w - 2.
RTL_MAX_WEIGHT_BITS = 6
#: Bits of the descriptor's row/column counts, channel counts, tile indices (accel_core.v).
DIM_BITS, CHANNEL_BITS, INDEX_BITS = 12, 16, 24
#: Largest kernel, stride and padding of the descriptor's 4-bit fields.
MAX_SMALL_FIELD = 15
#: Verilog parameter names, in the order of the dataclass fields.
VERILOG_NAMES = {
    "kind": "KIND",
    "tn": "TN",
    "tm": "TM",
    "kernel_max": "KMAX",
    "act_bits": "A",
    "weight_bits": "W",
    "acc_bits": "ACC_W",
    "pipeline_depth": "PIPE_D",
    "beat": "BEAT",
    "burst": "BURST",
    "in_half": "IN_HALF",
    "in_slots": "IN_SLOTS",
    "w_half": "W_HALF",
    "w_interleave": "W_IL",
    "w_lanes": "W_NP",
    "out_half": "OUT_HALF",
    "out_slots": "OUT_SLOTS",
    "dim_bits": "DIM_W",
    "channel_bits": "CH_W",
    "index_bits": "IDX_W",
    "bytes_bits": "BYTES_W",
}


@dataclass(frozen=True)
class RtlParameters:
    """Parameters of ``accel_core`` for one configuration.

    Attributes:
        kind: PE kind index (``accelsim.hw.PeKind`` order: 0 mult_dsp .. 3 krp_gsnq).
        tn, tm, kernel_max, act_bits, weight_bits, acc_bits, pipeline_depth: as in the config.
        beat: DDR bytes per cycle (the data bus is ``8 * beat`` bits).
        burst: largest DDR request, bytes.
        in_half: items per input bank and half (``buffers.input_depth`` rounded up to whole
            two-word runs).
        in_slots: activations per input-bank RAM word (a power of two >= beat).
        w_half: weight step words per half (``buffers.weight_depth`` rounded up to the interleave).
        w_interleave: interleaved RAMs per weight row (covers the words one beat can touch).
        w_lanes: weight pairs one beat can complete (the 1x1 pair of ``weight_bits`` bits).
        out_half: items per output channel memory and half.
        out_slots: activations per output RAM word (a power of two >= beat).
        dim_bits, channel_bits, index_bits, bytes_bits: field widths.
    """

    kind: int
    tn: int
    tm: int
    kernel_max: int
    act_bits: int
    weight_bits: int
    acc_bits: int
    pipeline_depth: int
    beat: int
    burst: int
    in_half: int
    in_slots: int
    w_half: int
    w_interleave: int
    w_lanes: int
    out_half: int
    out_slots: int
    dim_bits: int = DIM_BITS
    channel_bits: int = CHANNEL_BITS
    index_bits: int = INDEX_BITS
    bytes_bits: int = 16

    def verilog(self) -> dict[str, int]:
        """``{Verilog parameter name: value}`` for ``accel_core``."""
        return {VERILOG_NAMES[name]: value for name, value in asdict(self).items()}


def power_of_two_at_least(value: int) -> int:
    """The smallest power of two >= ``value`` (>= 1)."""
    return 1 << bits_for(max(1, value))


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return ceil_div(value, multiple) * multiple


def rtl_parameters(config: HwConfig) -> RtlParameters:
    """The core's parameters for ``config``.

    Raises:
        ConfigError: a field the RTL cannot realize (the message names it and the supported range).
    """
    pe = config.pe
    if config.act_bits != RTL_ACT_BITS:
        raise ConfigError(
            f"act_bits must be {RTL_ACT_BITS} for the RTL (one activation per DDR byte), "
            f"not {config.act_bits}"
        )
    if pe.pipeline_depth < RTL_MIN_PIPELINE_DEPTH:
        raise ConfigError(
            f"pe.pipeline_depth must be at least {RTL_MIN_PIPELINE_DEPTH} for the RTL "
            f"(its PE pipeline), not {pe.pipeline_depth}"
        )
    if config.weight_bits > RTL_MAX_WEIGHT_BITS:
        raise ConfigError(
            f"weight_bits must be at most {RTL_MAX_WEIGHT_BITS} for the RTL (shifts up to "
            f"2^w - 2), not {config.weight_bits}"
        )
    if pe.kernel_max > MAX_SMALL_FIELD:
        raise ConfigError(
            f"pe.kernel_max must be at most {MAX_SMALL_FIELD} for the RTL, not {pe.kernel_max}"
        )
    if config.ddr.burst_bytes >= 1 << 30:
        raise ConfigError(
            f"ddr.burst_bytes must be below {1 << 30} for the RTL, not {config.ddr.burst_bytes}"
        )
    beat = config.ddr.bytes_per_cycle
    slots = power_of_two_at_least(beat)
    # 1x1 pairs are the narrowest: weight_bits bits each, so one beat completes at most this many
    lanes = ceil_div(8 * beat, config.weight_bits)
    interleave = power_of_two_at_least(ceil_div(lanes - 1, pe.tm) + 1)
    return RtlParameters(
        kind=list(PeKind).index(pe.kind),
        tn=pe.tn,
        tm=pe.tm,
        kernel_max=pe.kernel_max,
        act_bits=config.act_bits,
        weight_bits=config.weight_bits,
        acc_bits=config.acc_bits,
        pipeline_depth=pe.pipeline_depth,
        beat=beat,
        burst=config.ddr.burst_bytes,
        in_half=round_up(config.buffers.input_depth, 2 * slots),
        in_slots=slots,
        w_half=round_up(config.buffers.weight_depth, interleave),
        w_interleave=interleave,
        w_lanes=lanes,
        out_half=round_up(config.buffers.output_depth, 2 * slots),
        out_slots=slots,
        bytes_bits=max(bits_for(config.ddr.burst_bytes + 1), bits_for(beat + 1)) + 1,
    )
