"""Uniform symmetric quantization: the step rule, the grid, the codes and the incremental steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import workloads
from accelsim.compression import (
    CompressionConfig,
    MaskedModel,
    WeightFormat,
    assign_steps,
    choose_step,
    compress,
    quantize_portion,
    round_to_grid,
    uniform_quantize,
)
from accelsim.compression.krp import krp_prune
from accelsim.compression.levels import STEP_SIGNIFICANT_BITS, UniformLevels, levels_from_dict
from accelsim.compression.magnitude import fc_prune
from accelsim.compression.uniform import STEP_GRID, round_step
from accelsim.errors import ConfigError


def pruned_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    return fc_prune(krp_prune(model), 0.5)


def reference_round(weights: np.ndarray, step: float, bits: int) -> np.ndarray:
    """Nearest level of ``{q * step : |q| <= 2**(bits-1) - 1}``; on a tie the larger magnitude wins."""
    top = 2 ** (bits - 1) - 1
    levels = [q * step for q in range(-top, top + 1)]
    return np.array([min(levels, key=lambda v: (abs(w - v), -abs(v))) for w in weights.astype(np.float64)])


def reference_step(weights: torch.Tensor, bits: int) -> tuple[float, float]:
    """(least error, largest step of that error) over the candidate grid, element by element."""
    w = weights.double().flatten().numpy()
    w = w[w != 0]
    top = 2 ** (bits - 1) - 1
    best = (math.inf, 0.0)
    for k in range(1, STEP_GRID + 1):
        step = round_step(np.abs(w).max() / top * k / STEP_GRID)
        error = float(((w - reference_round(w, step, bits)) ** 2).sum())
        best = min(best, (error, -step))
    return best[0], -best[1]


def layer(seed: int, size: int = 300, outliers: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(size, generator=generator) * 0.05
    w[:outliers] *= 8
    return w


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("outliers", [0, 3])
def test_step_is_the_least_error_candidate(bits: int, outliers: int) -> None:
    w = layer(bits + 10 * outliers, outliers=outliers)
    step = choose_step(w, bits)
    least, expected = reference_step(w, bits)
    error = float(((w.double().numpy() - reference_round(w.numpy(), step, bits)) ** 2).sum())
    assert error <= least * (1 + 1e-9)
    assert step == pytest.approx(expected, rel=1e-3)  # the same candidate, up to float64 ties


def test_clipping_beats_the_max_rule_with_outliers() -> None:
    w = layer(5, outliers=2)
    top = 7
    assert choose_step(w, 4) < 0.8 * w.abs().max().item() / top


def test_weights_already_on_a_grid_keep_it() -> None:
    step = 2.0**-6 * 3
    w = torch.tensor([q * step for q in (-7, -3, -1, 0, 1, 2, 5, 7)] * 10)
    assert choose_step(w, 4) == step
    assert torch.equal(round_to_grid(w, UniformLevels(4, step)), w)


def test_empty_or_all_zero_layer_gets_step_one() -> None:
    assert choose_step(torch.zeros(5), 3) == 1.0
    assert choose_step(torch.zeros(0), 3) == 1.0


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_rounding_is_nearest_symmetric_and_clamped(bits: int) -> None:
    levels = UniformLevels(bits, 0.125)
    top = 2 ** (bits - 1) - 1
    w = torch.tensor([0.0, 0.0625, -0.0625, 0.0624, 0.1875, -0.1875, 0.3, 5.0, -5.0, 1e-9])
    w = torch.cat([w, layer(1)])
    q = round_to_grid(w, levels)
    np.testing.assert_array_equal(q.double().numpy(), reference_round(w.numpy(), 0.125, bits))
    assert torch.equal(round_to_grid(-w, levels), -q)  # symmetric grid
    assert q.abs().max().item() == top * 0.125 and q.dtype == torch.float32
    assert q[0].item() == 0.0 and not torch.signbit(q[0])


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_every_final_weight_is_a_code_times_the_step(bits: int) -> None:
    before = pruned_model()
    state = uniform_quantize(before, bits)
    top = 2 ** (bits - 1) - 1
    for record in state.records:
        levels = record.levels
        assert isinstance(levels, UniformLevels) and levels.bits == bits and levels.format is WeightFormat.UNIFORM
        weight = state.weight(record.name).detach()
        assert not weight[~record.mask].any() and not torch.signbit(weight[~record.mask]).any()  # +0 stays
        q = weight.double() / levels.step
        assert torch.equal(q, q.round()) and q.abs().max() <= top  # codes in range, exact
        assert torch.equal(record.quantized, record.mask)
        codes = levels.encode(weight)
        assert codes.dtype == np.uint8 and not (codes == 2 ** (bits - 1)).any()  # -2**(b-1) unused
        assert torch.equal(levels.decode(codes), weight)
        kept = before.weight(record.name).detach()[record.mask]
        assert levels.step == choose_step(kept, bits)


def test_step_has_few_significant_bits_so_levels_are_exact_in_float32() -> None:
    for bits in (2, 4, 8):
        step = choose_step(layer(bits), bits)
        mantissa = math.ldexp(math.frexp(step)[0], STEP_SIGNIFICANT_BITS)
        assert mantissa == int(mantissa)
        products = np.arange(-(2 ** (bits - 1)) + 1, 2 ** (bits - 1)) * step
        assert np.array_equal(products.astype(np.float32).astype(np.float64), products)


def test_incremental_steps_quantize_largest_first_and_freeze() -> None:
    state = assign_steps(pruned_model(), 4)
    original = {r.name: state.weight(r.name).detach().clone() for r in state.records}
    half = quantize_portion(state, 0.5, round_to_grid)
    for record in half.records:
        assert int(record.quantized.sum()) == math.floor(0.5 * int(record.mask.sum()) + 0.5)
        magnitude = original[record.name].abs()
        assert magnitude[record.quantized].min() >= magnitude[record.mask & ~record.quantized].max()
        weight = half.weight(record.name).detach()
        assert torch.equal(weight[~record.quantized], original[record.name][~record.quantized])
        grid = round_to_grid(original[record.name], record.levels)
        assert torch.equal(weight[record.quantized], grid[record.quantized])
    with torch.no_grad():  # a later step leaves the frozen weights alone even if the free ones moved
        for record in half.records:
            half.weight(record.name).add_(torch.where(record.frozen, 0.0, 0.01))
    full = quantize_portion(half, 1.0, round_to_grid)
    for record in full.records:
        old = half.record(record.name).quantized
        assert torch.equal(full.weight(record.name).detach()[old], half.weight(record.name).detach()[old])
        assert torch.equal(record.quantized, record.mask)
        assert record.levels == half.record(record.name).levels  # the step is chosen once


def test_retraining_between_steps_moves_only_the_free_weights() -> None:
    """A stand-in for retraining nudges the free weights; the quantized ones keep their levels to the end."""
    seen: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] = []

    def nudge(state: MaskedModel) -> MaskedModel:
        seen.append({r.name: (r.quantized.clone(), state.weight(r.name).detach().clone()) for r in state.records})
        with torch.no_grad():
            for record in state.records:
                state.weight(record.name).add_(torch.where(record.frozen, 0.0, 0.003))
        return state

    final = uniform_quantize(pruned_model(), 3, portions=(0.5, 0.75, 0.875, 1.0), retrain=nudge)
    counts = [sum(int(quantized.sum()) for quantized, _ in step.values()) for step in seen]
    assert len(counts) == 3 and counts == sorted(set(counts))  # between the steps only, growing
    for record in final.records:
        weight = final.weight(record.name).detach()
        for step in seen:
            quantized, before = step[record.name]
            assert torch.equal(weight[quantized], before[quantized])
        assert torch.equal(round_to_grid(weight, record.levels), weight) and torch.equal(record.quantized, record.mask)


@pytest.mark.parametrize("bits", [1, 9, 4.0, True, "4"])
def test_bits_out_of_range(bits: object) -> None:
    with pytest.raises(ConfigError, match=f"bits must be an integer from 2 to 8, not {bits!r}"):
        uniform_quantize(pruned_model(), bits)  # type: ignore[arg-type]


def test_bad_portions() -> None:
    with pytest.raises(ConfigError, match="portions must be strictly increasing numbers in"):
        uniform_quantize(pruned_model(), 4, portions=(0.5, 0.9))


@pytest.mark.parametrize(
    ("bits", "step", "message"),
    [
        (9, 0.5, "bits must be from 2 to 8, not 9"),
        (4, 0.1, "step must be a positive normal float32 with at most 17 significant bits, not 0.1"),
        (4, -0.5, "not -0.5"),
        (4, math.inf, "not inf"),
        (4, 2.0**-130, "not 7.346"),
        (4, 1, "not 1"),
    ],
)
def test_levels_refuse_bad_fields(bits: int, step: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UniformLevels(bits, step)


def test_levels_codes_are_twos_complement_and_refuse_other_values() -> None:
    levels = UniformLevels(3, 0.25)
    assert levels.decode(np.array([0, 1, 2, 3, 5, 6, 7])).tolist() == [0.0, 0.25, 0.5, 0.75, -0.75, -0.5, -0.25]
    with pytest.raises(ValueError, match="except the unused 4"):
        levels.decode(np.array([4]))
    with pytest.raises(ValueError, match="codes must be in 0..7"):
        levels.decode(np.array([8]))
    with pytest.raises(ValueError, match="weight 1.0 is not a level"):
        levels.encode(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="weight 0.3 is not a level"):
        levels.encode(torch.tensor([0.3], dtype=torch.float64))
    assert levels_from_dict(levels.to_dict()) == levels
    with pytest.raises(ConfigError, match="weight format must be one of 'gsnq', 'uniform', not 'linear'"):
        levels_from_dict({**levels.to_dict(), "format": "linear"})


def test_config_selects_the_weight_format() -> None:
    assert CompressionConfig().weights is WeightFormat.GSNQ
    config = CompressionConfig(bits=3, weights="uniform")
    assert config.weights is WeightFormat.UNIFORM
    assert CompressionConfig.from_dict(config.to_dict()) == config
    old = {key: value for key, value in config.to_dict().items() if key != "weights"}
    assert CompressionConfig.from_dict(old).weights is WeightFormat.GSNQ  # written before the field existed
    with pytest.raises(ConfigError, match="weights must be one of 'gsnq', 'uniform', not 'x'"):
        CompressionConfig(weights="x")  # type: ignore[arg-type]


def test_compress_with_uniform_weights_one_shot() -> None:
    model = workloads.build("digits", seed=1)
    compressed = compress(model, CompressionConfig(bits=4, weights="uniform"), workload="digits")
    for record in compressed.records:
        assert isinstance(record.levels, UniformLevels) and record.levels.bits == 4
        weight = compressed.model.get_submodule(record.name).weight.detach()
        assert torch.equal(record.levels.decode(record.levels.encode(weight)), weight)
        assert not weight[~record.mask].any()
    assert all(layer.bits == 4 for layer in compressed.report().layers)
