"""What to synthesize for a hardware configuration: the RTL modules and their parameters.

Each design is one module of the RTL library with the Verilog parameters a configuration gives it:

- ``unit``: one PE unit (``pe_unit``), the paper's "unit" row, flattened, except that a
  ``mult_dsp`` unit keeps its adder tree (``pe_tree``) in a module of its own (:func:`keeps_unit_tree`);
- ``array``: the ``tn x tm`` PE array with its column adders and accumulators (``pe_array``), the
  paper's "module" row, with its units, taps and unit trees flattened into it
  (:data:`ARRAY_INLINE`, less ``pe_tree`` for ``mult_dsp``) and each row's column adder tree
  (``pe_column``) mapped by itself;
- ``requant``: one requantization lane (``requant``);
- ``core``: the whole accelerator core (``accel_core``: controller, DMA engines, DDR arbiter,
  buffers, PE datapath) with the parameters of ``accelsim.rtl.params.rtl_parameters``,
  synthesized hierarchically (each distinct module once: a flattened core took over an hour),
  except that the PE array's units, taps and unit trees are flattened into it (:data:`ARRAY_INLINE`,
  as in the ``array`` design), so the core's array is the ``array`` design (same parameters, its
  tag included).

``mult_lut`` designs are synthesized with ``-nodsp``: Yosys 0.23 ignores the RTL's
``(* use_dsp = "no" *)`` and would put the LUT multipliers on DSP48s (in ``core`` this also moves
the requantization multipliers into LUTs; ``docs/resources.md``).
"""

from __future__ import annotations

import enum
import re

from ..errors import ConfigError
from ..hw.config import HwConfig, PeKind
from ..hw.resources import ARRAY_TAG_BITS, pe_widths
from .sources import closure, module_files, rtl_library
from .yosys import SynthTarget


class Design(str, enum.Enum):
    """A part of the accelerator that has its own RTL module."""

    UNIT = "unit"
    ARRAY = "array"
    REQUANT = "requant"
    CORE = "core"

    @property
    def module(self) -> str:
        """The RTL module."""
        return {"unit": "pe_unit", "array": "pe_array", "requant": "requant", "core": "accel_core"}[self.value]


#: Modules flattened into their parent in the otherwise hierarchical array and core: the PE array's
#: units, taps and unit adder trees, so that the array is optimized across them (as Vivado does).
#: The column adder trees (``pe_column``) keep their hierarchy: ABC maps a wide compressor tree by
#: itself in fewer LUTs than inside the flattened array (a 2 x 16 KRP array: 7% fewer LUTs,
#: docs/resources.md).
ARRAY_INLINE = ("pe_unit", "pe_tap", "pe_tree")
#: The unit's adder tree, which a ``mult_dsp`` design keeps in a module of its own.
UNIT_TREE = "pe_tree"


def keeps_unit_tree(config: HwConfig) -> bool:
    """Whether the units' adder trees (``pe_tree``) keep their module in synthesis: for ``mult_dsp``,
    whose taps are DSP48 multipliers. Flattened, Yosys's ``xilinx_dsp`` chains the taps' products
    through the slices' post-adders (one PCOUT -> PCIN cascade per unit, settling in one cycle: ~86
    MHz by the timing rule of docs/resources.md); a module boundary keeps the tree in LUTs and
    carry chains, as the paper's DSP module has it (375 LUT beside its 9 DSP48s at 4 bits)."""
    return config.pe.kind is PeKind.MULT_DSP

_PARAMETER = re.compile(r"\bparameter\s+(?:integer\s+)?([A-Za-z_]\w*)")


def module_parameters(module: str) -> tuple[str, ...]:
    """Names of the parameters ``module`` declares in its header (``#( ... )``)."""
    path = module_files(rtl_library())[module]
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"^\s*module\s+{module}\b", text, re.MULTILINE)
    if start is None:  # pragma: no cover - module_files found it
        raise ConfigError(f"module {module!r} must be defined in {path.name}")
    header = text[start.end():text.index(") (", start.end())] if ") (" in text[start.end():] else ""
    return tuple(_PARAMETER.findall(header))


def _pe_parameters(config: HwConfig) -> dict[str, int]:
    widths = pe_widths(config)
    return {"KIND": list(PeKind).index(config.pe.kind), "KMAX": config.pe.kernel_max, "A": config.act_bits,
            "W": config.weight_bits, "SHIFT_W": widths.shift, "PROD_W": widths.product}


def design_parameters(config: HwConfig, design: Design) -> dict[str, int]:
    """The Verilog parameters of ``design`` for ``config``.

    Raises:
        ConfigError: the RTL cannot realize ``config`` (``core``: ``rtl_parameters``'s checks).
    """
    if design is Design.UNIT:
        return _pe_parameters(config)
    if design is Design.ARRAY:
        return {**_pe_parameters(config), "TN": config.pe.tn, "TM": config.pe.tm, "ACC_W": config.acc_bits,
                "TAG_W": ARRAY_TAG_BITS}
    if design is Design.REQUANT:
        return {"ACC_W": config.acc_bits, "A": config.act_bits}
    from ..rtl.params import rtl_parameters  # the RTL's own parameter rules, one definition

    declared = set(module_parameters(design.module))
    return {name: value for name, value in rtl_parameters(config).verilog().items() if name in declared}


def synth_target(config: HwConfig, design: Design | str) -> SynthTarget:
    """The :class:`SynthTarget` of ``design`` for ``config``.

    Raises:
        ConfigError: an unknown design name, or a configuration the RTL cannot realize.
    """
    try:
        design = Design(design)
    except ValueError:
        choices = ", ".join(repr(item.value) for item in Design)
        raise ConfigError(f"design must be one of {choices}, not {design!r}") from None
    parameters = design_parameters(config, design)
    kept = (UNIT_TREE,) if keeps_unit_tree(config) else ()
    # the array and core keep every module but the inlined ones; a unit is flattened unless it keeps its tree
    if design in (Design.ARRAY, Design.CORE) or (design is Design.UNIT and kept):
        inline = tuple(name for name in ARRAY_INLINE if name not in (*kept, design.module))
    else:
        inline = ()
    return SynthTarget(design.module, tuple(parameters.items()), closure(design.module),
                       use_dsp=config.pe.kind is not PeKind.MULT_LUT, flatten=not inline, inline=inline)
