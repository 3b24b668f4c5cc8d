"""The Verilog parameters of the core for a hardware configuration, and what the RTL can realize.

:func:`rtl_parameters` turns a :class:`~accelsim.hw.HwConfig` into the parameters of
``accel_core`` (``accelsim/rtl/verilog/accel_core.v``): the contract's fields plus the buffer
organization of ``accelsim.hw.geometry`` (docs/microarchitecture.md, section 4). Configurations the
RTL cannot build are rejected here, before any file is written, with a
:class:`~accelsim.errors.ConfigError` naming the field.

>>> from accelsim.hw import load_config
>>> p = rtl_parameters(load_config("default"))
>>> p.kind, p.tn, p.tm, p.in_word, p.w_lanes, p.out_rams
(3, 8, 4, 32, 7, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..hw.config import HwConfig, PeKind
from ..hw.geometry import (
    input_word_bytes,
    output_rams,
    param_beats,
    round_up,
    step_beats,
    weight_item_bits,
)
from ..hw.intmath import bits_for, ceil_div
from ..hw.resources import pe_widths

#: Activation width the RTL supports (DDR bytes are activations; docs/rtl.md).
RTL_ACT_BITS = 8
#: Smallest ``pe.pipeline_depth`` the RTL realizes: a step issued one cycle after the tile start
#: writes its pixel 12 cycles later, and the store's prefetch must read it before the tile ends; 16 is
#: the smallest depth with no underrun (at 15, digits at 1 byte per cycle underruns the prefetch).
RTL_MIN_PIPELINE_DEPTH = 16
#: Smallest ``ddr.latency_cycles`` the RTL realizes: a request's first beat comes a cycle after its
#: grant at the earliest, so that no beat, transfer end or layer end hangs on a grant in its own cycle.
RTL_MIN_DDR_LATENCY = 1
#: Largest code width: the shifters cover shifts 0 .. 2^(w-1), the multipliers w-bit codes.
RTL_MAX_WEIGHT_BITS = 6
#: Bits of the descriptor's row/column counts, channel counts, tile indices, beat counts and byte
#: offsets within the input buffer (accel_core.v).
DIM_BITS, CHANNEL_BITS, INDEX_BITS, BEATS_BITS, OFFSET_BITS = 12, 16, 24, 24, 24
#: Largest ``pe.kernel_max`` (the array's window side, a 4-bit field).
MAX_SMALL_FIELD = 15
#: Most DDR beats of one step word (the weight buffer's lanes): the descriptor's 8-bit ``w_lanes``.
MAX_STEP_BEATS = 255
#: Largest window span (a kernel, a pooling window), padding and window blocks per axis: the
#: descriptor's 8-bit window fields (accel_core.v ``desc_y_size`` ...).
MAX_WINDOW_FIELD = 255
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
    "in_word": "IN_WORD",
    "in_half": "IN_HALF",
    "w_lanes": "W_LANES",
    "w_half": "W_HALF",
    "p_lanes": "P_LANES",
    "out_rams": "OUT_RAMS",
    "out_half": "OUT_HALF",
    "shift_bits": "SHIFT_W",
    "product_bits": "PROD_W",
    "dim_bits": "DIM_W",
    "channel_bits": "CH_W",
    "index_bits": "IDX_W",
    "beats_bits": "BEATS_W",
    "offset_bits": "OFF_W",
}


@dataclass(frozen=True)
class RtlParameters:
    """Parameters of ``accel_core`` for one configuration.

    Attributes:
        kind: PE kind index (``accelsim.hw.PeKind`` order: 0 mult_dsp .. 3 krp_gsnq).
        tn, tm, kernel_max, act_bits, weight_bits, acc_bits, pipeline_depth: as in the config.
        beat: DDR bytes per cycle (the data bus is ``8 * beat`` bits).
        burst: largest DDR request, bytes.
        in_word: bytes of an input-buffer word (``geometry.input_word_bytes``).
        in_half: input-buffer bytes per half (``buffers.input_bytes`` rounded up to two words).
        w_lanes: beats of a weight-buffer word (the widest step word).
        w_half: weight words per half (``buffers.weight_depth``).
        p_lanes: beats of a channel group's requantization parameters.
        out_rams: interleaved output memories (``geometry.output_rams``).
        out_half: rows per output memory and half (``buffers.output_depth / out_rams``, rounded up).
        shift_bits: bits of a tap's shift amount; product_bits: bits of a tap's product.
        dim_bits, channel_bits, index_bits, beats_bits, offset_bits: field widths.
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
    in_word: int
    in_half: int
    w_lanes: int
    w_half: int
    p_lanes: int
    out_rams: int
    out_half: int
    shift_bits: int
    product_bits: int
    dim_bits: int = DIM_BITS
    channel_bits: int = CHANNEL_BITS
    index_bits: int = INDEX_BITS
    beats_bits: int = BEATS_BITS
    offset_bits: int = OFFSET_BITS

    def verilog(self) -> dict[str, int]:
        """``{Verilog parameter name: value}`` for ``accel_core``."""
        return {VERILOG_NAMES[name]: value for name, value in asdict(self).items()}

    @property
    def copies(self) -> int:
        """Input-buffer copies: one per window row and channel block of a group."""
        return self.kernel_max * max(1, self.tm // self.tn)


def rtl_parameters(config: HwConfig) -> RtlParameters:
    """The core's parameters for ``config``.

    Raises:
        ConfigError: a field the RTL cannot realize (the message names it and the supported range).
    """
    pe, buffers = config.pe, config.buffers
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
    if config.ddr.latency_cycles < RTL_MIN_DDR_LATENCY:
        raise ConfigError(
            f"ddr.latency_cycles must be at least {RTL_MIN_DDR_LATENCY} for the RTL (a DDR answers no "
            f"earlier than the cycle after a request), not {config.ddr.latency_cycles}"
        )
    if config.weight_bits > RTL_MAX_WEIGHT_BITS:
        raise ConfigError(
            f"weight_bits must be at most {RTL_MAX_WEIGHT_BITS} for the RTL, not {config.weight_bits}"
        )
    if pe.kernel_max > MAX_SMALL_FIELD:
        raise ConfigError(
            f"pe.kernel_max must be at most {MAX_SMALL_FIELD} for the RTL, not {pe.kernel_max}"
        )
    if config.ddr.burst_bytes >= 1 << 30:
        raise ConfigError(
            f"ddr.burst_bytes must be below {1 << 30} for the RTL, not {config.ddr.burst_bytes}"
        )
    lanes = step_beats(config, pe.kernel_max)
    if lanes > MAX_STEP_BEATS:
        word_bytes = ceil_div(pe.units * weight_item_bits(config, pe.kernel_max), 8)
        beat = 1 << bits_for(ceil_div(word_bytes, MAX_STEP_BEATS))
        raise ConfigError(
            f"ddr.bytes_per_cycle must be at least {beat} for the RTL, not {config.ddr.bytes_per_cycle}: a step "
            f"word of the {pe.tn} x {pe.tm} units' weight items takes {lanes} beats, and the weight buffer "
            f"takes at most {MAX_STEP_BEATS} (or use fewer units or a smaller pe.kernel_max)"
        )
    word = input_word_bytes(config)
    rams = output_rams(config)
    widths = pe_widths(config)
    return RtlParameters(
        kind=list(PeKind).index(pe.kind),
        tn=pe.tn,
        tm=pe.tm,
        kernel_max=pe.kernel_max,
        act_bits=config.act_bits,
        weight_bits=config.weight_bits,
        acc_bits=config.acc_bits,
        pipeline_depth=pe.pipeline_depth,
        beat=config.ddr.bytes_per_cycle,
        burst=config.ddr.burst_bytes,
        in_word=word,
        in_half=round_up(buffers.input_bytes, 2 * word),
        w_lanes=lanes,
        w_half=buffers.weight_depth,
        p_lanes=param_beats(config),
        out_rams=rams,
        out_half=ceil_div(buffers.output_depth, rams),
        shift_bits=widths.shift,
        product_bits=widths.product,
        beats_bits=max(BEATS_BITS, bits_for(config.ddr.burst_bytes + 1) + 1),
    )
