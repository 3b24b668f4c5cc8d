"""Emission of an RTL design point: the configured top level and the run images.

A design point is a hardware configuration: :func:`design_files` writes the top level
``accelsim_top`` (``accel_core`` with the configuration's parameters, what Yosys and Vivado
synthesize) and the testbench's parameter header. A run is a list of layers with their inputs:
:func:`layer_run` lays out DDR (each layer's input feature maps, its weight groups and
requantization parameters, a region for its output) and the layer descriptors; :func:`write_run`
writes them as ``$readmemh`` files for ``tb_harness``. Every check of what the RTL can run happens
before anything is written.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ConfigError, UnsupportedLayerError
from ..hw.config import HwConfig
from ..hw.geometry import row_bytes
from ..integer.graph import (
    AddLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    LinearLayer,
    PoolLayer,
)
from ..outputs import atomic_write_bytes
from ..sim.plan import LayerPlan, concat_slices, plan_network
from .images import (
    DESCRIPTOR_FIELDS,
    DESCRIPTOR_WORDS,
    LayerCodes,
    PeLayerView,
    VectorLayerView,
    block_bytes,
    check_pe_layer,
    check_vector_layer,
    from_blocks,
    layer_codes,
    pe_descriptor,
    pe_view,
    to_blocks,
    vector_descriptor,
    vector_param_image,
    vector_view,
    weight_image,
)
from .params import RtlParameters, rtl_parameters

#: Synthesizable top level written by :func:`design_files`, and the testbench top.
TOP_MODULE = "accelsim_top"
TESTBENCH_MODULE = "tb_harness"
#: Files of the Verilog library that are simulation only.
SIMULATION_ONLY = ("tb_harness.v",)
#: DDR bytes of the testbench memory (tb_harness DDR_BYTES), region alignment, layers per run.
DDR_BYTES = 1 << 26
REGION_ALIGN = 64
MAX_LAYERS = 256


def library_dir() -> Path:
    """The folder of the packaged Verilog library (``accelsim/rtl/verilog``)."""
    return Path(str(resources.files("accelsim.rtl") / "verilog"))


def library_sources(*, simulation: bool) -> list[Path]:
    """The library's Verilog files, sorted; with ``simulation`` the testbench too."""
    files = sorted(library_dir().glob("*.v"))
    return [path for path in files if simulation or path.name not in SIMULATION_ONLY]


def harness_source() -> Path:
    """The C++ main of the Verilator build."""
    return library_dir() / "sim_main.cpp"


def _core_interface() -> tuple[str, str]:
    """The parameter and port declarations of ``accel_core`` (text between the parentheses)."""
    text = (library_dir() / "accel_core.v").read_text()
    match = re.search(r"module accel_core #\((.*?)\n\) \((.*?)\n\);", text, re.DOTALL)
    if match is None:  # pragma: no cover - the packaged file is fixed
        raise RuntimeError("accel_core.v must declare 'module accel_core #(...) (...);'")
    return match.group(1), match.group(2)


def top_level(params: RtlParameters) -> str:
    """``accelsim_top.v``: ``accel_core`` with the configuration's parameters as defaults."""
    param_text, port_text = _core_interface()
    values = params.verilog()
    lines = []
    for line in param_text.splitlines():
        match = re.match(r"(\s*parameter\s+)(\w+)(\s*=\s*)([^,/]+?)(\s*,?\s*(//.*)?)$", line)
        if match and match.group(2) in values:
            line = f"{match.group(1)}{match.group(2)}{match.group(3)}{values[match.group(2)]}{match.group(5)}"
        lines.append(line)
    ports = re.findall(
        r"(?:input|output)\s+(?:wire|reg)\s+(?:signed\s+)?(?:\[[^\]]*\]\s*)?(\w+)\s*,?", port_text
    )
    port_decls = port_text.replace("output reg ", "output wire")
    names = [name for name in values]
    overrides = ", ".join(f".{name}({name})" for name in names)
    connections = ",\n        ".join(f".{port}({port})" for port in ports)
    return (
        "// Written by accelsim.rtl.emit: the accelerator core with one configuration's parameters.\n"
        f"module {TOP_MODULE} #({chr(10).join(lines)}\n) ({port_decls}\n);\n"
        f"    accel_core #({overrides}) u_core (\n        {connections}\n    );\n"
        "endmodule\n"
    )


def testbench_header(params: RtlParameters) -> str:
    """``accelsim_params.vh``: the widths and descriptor layout the testbench needs."""
    return (
        "// Written by accelsim.rtl.emit: widths of accelsim_top's ports for tb_harness.\n"
        f"localparam BEAT = {params.beat};\n"
        f"localparam BEATS_W = {params.beats_bits};\n"
        f"localparam IDX_W = {params.index_bits};\n"
        "localparam STAMP_W = 32;\n"
        f"localparam DDR_BYTES = {DDR_BYTES};\n"
        f"localparam MAX_LAYERS = {MAX_LAYERS};\n"
        f"localparam NF = {DESCRIPTOR_WORDS};\n"
        f"localparam MODE_FIELD = {DESCRIPTOR_FIELDS.index('mode')};\n"
    )


def descriptor_ports() -> str:
    """``accelsim_desc.vh``: the testbench's connection of every descriptor word to its port."""
    lines = [f".desc_{name}(field({index}))," for index, name in enumerate(DESCRIPTOR_FIELDS)]
    return "// Written by accelsim.rtl.emit: descriptor word -> accelsim_top port.\n" + "\n".join(lines) + "\n"


def design_files(params: RtlParameters) -> dict[str, str]:
    """The generated files of a design point: ``{file name: text}``."""
    return {f"{TOP_MODULE}.v": top_level(params), "accelsim_params.vh": testbench_header(params),
            "accelsim_desc.vh": descriptor_ports()}


@dataclass(frozen=True)
class LayerRegion:
    """Where a layer of a run lives in the testbench's DDR.

    Attributes:
        name: the layer.
        index: its position in the run (the trace's layer number).
        output_base, output_bytes: its output feature map (channel blocks, one byte per activation;
            the whole concatenation its output lies in, if any).
        output_shape: the output tensor's shape.
        stored_shape: the shape of what lies at ``output_base`` (a concatenation's, else the output's).
        first_channel: the output's first channel in it.
    """

    name: str
    index: int
    output_base: int
    output_bytes: int
    output_shape: tuple[int, ...]
    stored_shape: tuple[int, ...]
    first_channel: int = 0


@dataclass(frozen=True)
class RunImage:
    """The testbench's inputs for one run: DDR contents, descriptors and the output regions."""

    ddr: bytes
    descriptors: tuple[int, ...]
    regions: tuple[LayerRegion, ...]
    tn: int

    @property
    def dump_bytes(self) -> int:
        """DDR bytes the testbench writes back (up to the end of the last output region)."""
        return max((r.output_base + r.output_bytes for r in self.regions), default=0)

    def output(self, region: LayerRegion, dump: np.ndarray) -> np.ndarray:
        """Layer ``region``'s output tensor (int8) from the testbench's DDR ``dump``."""
        data = dump[region.output_base : region.output_base + region.output_bytes]
        stored = from_blocks(data, region.stored_shape, self.tn)
        return stored[region.first_channel:region.first_channel + region.output_shape[0]].reshape(region.output_shape)


class _Allocator:
    """Consecutive, aligned DDR regions."""

    def __init__(self) -> None:
        self.data = bytearray()

    def place(self, payload: bytes, size: int | None = None) -> int:
        base = -(-len(self.data) // REGION_ALIGN) * REGION_ALIGN
        self.data.extend(b"\0" * (base - len(self.data)))
        self.data.extend(payload)
        self.data.extend(b"\0" * ((size or len(payload)) - len(payload)))
        return base


#: The layers the datapath runs (a flatten or concatenation is free: no hardware, no events).
DatapathLayer = ConvLayer | LinearLayer | PoolLayer | AddLayer


def _datapath_layers(network: IntegerNetwork, names: list[str] | None) -> list[DatapathLayer]:
    """The layers selected by ``names`` (every convolution, linear, pooling and add if None)."""
    kinds = (ConvLayer, LinearLayer, PoolLayer, AddLayer)
    known = {layer.name: layer for layer in network.layers}
    if names is None:
        return [layer for layer in network.layers if isinstance(layer, kinds)]
    chosen = []
    for name in names:
        if name not in known:
            raise ConfigError(f"layer must be one of the network's layers, not {name!r}")
        layer = known[name]
        if not isinstance(layer, kinds):
            raise UnsupportedLayerError(
                f"layer {name!r} must be a convolution, linear, pooling or add layer to run on the "
                f"RTL, not {type(layer).__name__} (a flatten or concatenation has no hardware: it moves "
                "no data)"
            )
        chosen.append(layer)
    return chosen


def _operands(layer: DatapathLayer) -> tuple[str, ...]:
    """The tensors a layer reads."""
    return layer.inputs if isinstance(layer, AddLayer) else (layer.input,)


def layer_run(
    network: IntegerNetwork,
    config: HwConfig,
    inputs: dict[str, tuple[np.ndarray, ...]],
    layer_names: list[str] | None = None,
) -> tuple[RunImage, dict[str, LayerPlan]]:
    """DDR image and descriptors that run the chosen layers back to back, each on its own inputs.

    Args:
        network: the integer network.
        config: the hardware configuration.
        inputs: layer name -> that layer's input activations (two for an add), one image each
            (the integer datapath's values: the network input or the producing layers' outputs).
        layer_names: the layers to run (default: every convolution, linear, pooling and add).

    Returns:
        The run image and each layer's plan (tile rows from the timing contract).

    Raises:
        ConfigError, UnsupportedLayerError: the configuration or a layer the RTL cannot run.
    """
    params = rtl_parameters(config)
    plans = {plan.name: plan for plan in plan_network(network, config).layers}
    layers = _datapath_layers(network, layer_names)
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise ConfigError(
            f"a run must have 1 to {MAX_LAYERS} convolution, linear, pooling or add layers, "
            f"not {len(layers)}"
        )
    shapes = {"input": network.input.shape, **{layer.name: layer.output.shape for layer in network.layers}}
    sources = {layer.name: layer.input for layer in network.layers if isinstance(layer, FlattenLayer)}
    places = concat_slices(network, config)
    views: dict[str, PeLayerView | VectorLayerView] = {}
    codes: dict[str, LayerCodes] = {}
    for layer in layers:
        for operand in _operands(layer):
            if operand in places:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} must read whole tensors for the RTL, not {operand!r}, a slice "
                    f"of concatenation {places[operand][0]!r} (its rows are not one run in DDR)"
                )
        if isinstance(layer, (ConvLayer, LinearLayer)):
            source = sources.get(layer.input, layer.input)   # a linear layer reads a flatten's map
            pe = pe_view(layer, shapes[source], params.tn)
            check_pe_layer(pe, params)
            codes[layer.name] = layer_codes(layer.name, pe.weights, params)
            views[layer.name] = pe
        else:
            vector = vector_view(layer, shapes[_operands(layer)[0]])
            check_vector_layer(vector, params)
            views[layer.name] = vector
        _check_transfers(plans[layer.name])
    memory = _Allocator()
    words: list[int] = [len(layers)]
    regions = []
    for index, layer in enumerate(layers):
        # a linear layer after a flatten reads the map as it lies in DDR: its channel blocks
        layouts = [shapes[sources.get(name, name)] for name in _operands(layer)]
        bases = [memory.place(to_blocks(np.asarray(tensor).reshape(shape), params.tn))
                 for tensor, shape in zip(inputs[layer.name], layouts)]
        # an output that lies in a concatenation is stored into it: its blocks, the rows a
        # concatenated row apart
        root, first = places.get(layer.name, (layer.name, 0))
        stored = shapes[root]
        offset = first * stored[2] if root != layer.name else 0  # its first block, in a row
        out_bytes = block_bytes(stored, params.tn)
        view, plan = views[layer.name], plans[layer.name]
        if isinstance(view, PeLayerView):
            w_base = memory.place(weight_image(view, config, params, codes[layer.name]))
            out_base = memory.place(b"", out_bytes)
            fields = pe_descriptor(view, config, params, codes[layer.name], plan,
                                   (bases[0], w_base, out_base + offset))
        else:
            w_base = memory.place(vector_param_image(view, config))
            out_base = memory.place(b"", out_bytes)
            fields = vector_descriptor(view, config, params, plan,
                                       (bases[0], w_base, out_base + offset, bases[-1]))
        if root != layer.name:
            fields = stored_rows(fields, row_bytes(stored[0], stored[2], config), plan.tile_rows)
        words += fields
        regions.append(LayerRegion(layer.name, index, out_base, out_bytes, layer.output.shape, stored, first))
    if len(memory.data) > DDR_BYTES:
        raise ConfigError(
            f"the run must fit the testbench's {DDR_BYTES} DDR bytes, not {len(memory.data)}; "
            "run fewer layers at once"
        )
    return RunImage(bytes(memory.data), tuple(words), tuple(regions), params.tn), {
        name: plans[name] for name in (layer.name for layer in layers)
    }


def stored_rows(fields: list[int], out_row: int, tile_rows: int) -> list[int]:
    """A descriptor whose output rows lie ``out_row`` bytes apart (in a concatenation)."""
    fields = list(fields)
    fields[DESCRIPTOR_FIELDS.index("out_row_bytes")] = out_row
    fields[DESCRIPTOR_FIELDS.index("out_tr_bytes")] = tile_rows * out_row
    return fields


def _check_transfers(plan: LayerPlan) -> None:
    """The RTL moves no empty transfer (a row group reading only padding)."""
    for job in plan.input_jobs + plan.weight_jobs:
        if not job.transfers:
            raise UnsupportedLayerError(
                f"layer {plan.name!r} must read input rows in every row group for the RTL, not a row "
                "group wholly in the padding"
            )


def _hex_lines(values: list[int] | bytes, digits: int) -> bytes:
    """One ``digits``-digit hex value per line (bytes: two digits each, without a Python loop)."""
    if isinstance(values, bytes) and digits == 2:
        pairs = np.frombuffer(binascii.hexlify(values), dtype=np.uint8).reshape(-1, 2)
        return np.hstack([pairs, np.full((len(pairs), 1), ord("\n"), np.uint8)]).tobytes()
    return ("\n".join(f"{value:0{digits}x}" for value in values) + "\n").encode()


def write_run(image: RunImage, folder: Path) -> tuple[Path, Path]:
    """Write ``ddr.hex`` (bytes) and ``desc.hex`` (32-bit words) into ``folder``; return their paths."""
    ddr = atomic_write_bytes(folder / "ddr.hex", _hex_lines(image.ddr, 2))
    desc = atomic_write_bytes(folder / "desc.hex", _hex_lines(list(image.descriptors), 8))
    return ddr, desc


def read_dump(path: Path, size: int) -> np.ndarray:
    """The testbench's ``$writememh`` dump as uint8 bytes."""
    values = [int(token, 16) for token in path.read_text().split() if not token.startswith("@")]
    if len(values) < size:
        raise ConfigError(f"the RTL dump must hold {size} bytes, not {len(values)} ({path})")
    return np.asarray(values[:size], dtype=np.uint8)
