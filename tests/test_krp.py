"""KRP and magnitude pruning: invariants against an independent computation, policies, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from accelsim.compression.krp import FirstLayerPolicy, krp_prune
from accelsim.compression.magnitude import PointwisePolicy, fc_prune
from accelsim.compression.records import LayerKind, PruneMethod
from accelsim.compression.report import pruning_report
from accelsim.errors import ConfigError, WorkloadError


def small_cnn(seed: int = 0) -> nn.Module:
    """Conv 3x3 (first), conv 5x5, a non-square 3x2 conv, a 1x1 conv, two linear layers."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 5, padding=2, bias=False),
        nn.Conv2d(6, 5, (3, 2), padding=(1, 0)),
        nn.Conv2d(5, 7, 1),
        nn.Flatten(),
        nn.Linear(7 * 8 * 7, 20),
        nn.ReLU(),
        nn.Linear(20, 10),
    )


def reference_rows(weight: np.ndarray, rows_kept: int) -> np.ndarray:
    """Kept rows per kernel by plain loops in float64: largest L1 first, lowest index on ties."""
    out_c, in_c, height, _ = weight.shape
    kept = np.zeros((out_c, in_c, rows_kept), dtype=np.int64)
    for o in range(out_c):
        for i in range(in_c):
            norms = [float(np.abs(weight[o, i, r].astype(np.float64)).sum()) for r in range(height)]
            ranked = sorted(range(height), key=lambda r: (-norms[r], r))
            kept[o, i] = sorted(ranked[:rows_kept])
    return kept


@pytest.mark.parametrize("rows_kept", [1, 2])
def test_krp_keeps_the_max_l1_rows_and_zeroes_the_rest(rows_kept: int) -> None:
    model = small_cnn()
    before = {name: p.detach().clone() for name, p in model.state_dict().items()}
    pruned = krp_prune(model, rows_kept)
    for name, value in model.state_dict().items():  # the input is untouched
        assert torch.equal(value, before[name])
    for name in ("0", "3", "4"):
        original = before[f"{name}.weight"].numpy()
        weight = pruned.weight(name).detach().numpy()
        record = pruned.record(name)
        expected = reference_rows(original, rows_kept)
        assert record.method is PruneMethod.KRP
        assert np.array_equal(record.kept_rows.numpy(), expected)
        for o in range(weight.shape[0]):
            for i in range(weight.shape[1]):
                for r in range(weight.shape[2]):
                    if r in expected[o, i]:
                        assert np.array_equal(weight[o, i, r], original[o, i, r])
                        assert record.mask[o, i, r].all()
                    else:
                        assert not weight[o, i, r].any()
                        assert not record.mask[o, i, r].any()
    # 1x1 conv and linear layers untouched by KRP
    for name in ("5", "7", "9"):
        assert pruned.record(name).method is PruneMethod.DENSE
        assert torch.equal(pruned.weight(name).detach(), before[f"{name}.weight"])


def test_krp_ties_keep_the_lowest_row() -> None:
    conv = nn.Conv2d(1, 2, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(
            torch.tensor(
                [
                    [[[1.0, -1.0, 0.0], [0.5, 0.5, 1.0], [-2.0, 0.0, 0.0]]],  # all rows L1 = 2
                    [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],  # all zero
                ]
            )
        )
    pruned = krp_prune(nn.Sequential(conv), 1)
    assert pruned.record("0").kept_rows.flatten().tolist() == [0, 0]
    assert pruned.weight("0")[0, 0, 0].tolist() == [1.0, -1.0, 0.0]
    assert not pruned.weight("0")[0, 0, 1:].any()


def test_pruning_report_from_masks_is_exactly_two_thirds_for_3x3() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, 3), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    report = pruning_report(krp_prune(model).records)
    conv = [layer for layer in report.layers if layer.kind is LayerKind.CONV]
    assert [layer.pruned * 3 for layer in conv] == [2 * layer.weights for layer in conv]
    assert report.conv_pruning_rate == pytest.approx(2 / 3, abs=1e-12)
    conv_weights = 3 * 8 * 9 + 8 * 16 * 9
    assert report.total_pruning_rate == pytest.approx((2 / 3) * conv_weights / (conv_weights + 256 * 10))
    assert report.to_dict()["layers"][0]["rows_kept"] == 1


def test_first_layer_dense_policy() -> None:
    pruned = krp_prune(small_cnn(), first_layer="dense")
    assert pruned.record("0").method is PruneMethod.DENSE and pruned.record("0").mask.all()
    assert pruned.record("3").method is PruneMethod.KRP
    assert krp_prune(small_cnn(), first_layer=FirstLayerPolicy.KRP).record("0").method is PruneMethod.KRP


def test_fc_prune_exact_count_smallest_magnitudes() -> None:
    model = small_cnn()
    pruned = fc_prune(krp_prune(model), 0.9)
    for name in ("7", "9"):
        original = model.get_submodule(name).weight.detach().abs().flatten().numpy()
        record = pruned.record(name)
        count = int(np.floor(0.9 * original.size + 0.5))
        assert record.pruned == count and record.method is PruneMethod.MAGNITUDE
        threshold = np.sort(original)[count - 1]
        kept = record.mask.flatten().numpy()
        assert (original[~kept] <= threshold).all() and (original[kept] >= threshold).all()
        assert not pruned.weight(name).detach().flatten().numpy()[~kept].any()
    assert pruned.record("5").method is PruneMethod.DENSE  # 1x1 conv dense by default
    assert pruned.record("0").method is PruneMethod.KRP  # fc_prune keeps the KRP records


def test_pointwise_magnitude_policy_prunes_1x1_at_the_fc_rate() -> None:
    pruned = fc_prune(krp_prune(small_cnn()), 0.5, pointwise=PointwisePolicy.MAGNITUDE)
    record = pruned.record("5")
    assert record.method is PruneMethod.MAGNITUDE and record.pruned == round(0.5 * record.weights)


def test_fc_prune_rate_zero_is_identity() -> None:
    model = small_cnn()
    pruned = fc_prune(model, 0.0)
    assert all(record.method is PruneMethod.DENSE for record in pruned.records)
    assert pruned.model is not model


def test_rows_kept_must_be_smaller_than_kernel_naming_the_layer() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 5), nn.Conv2d(2, 2, 3))
    with pytest.raises(ConfigError, match=r"layer '1': rows_kept must be smaller than the kernel size K=3, not 3"):
        krp_prune(model, 3)
    with pytest.raises(ConfigError, match=r"rows_kept must be an integer >= 1, not 0"):
        krp_prune(model, 0)
    krp_prune(model, 2)  # fine for both


def test_non_square_kernel_rows_run_along_height() -> None:
    with pytest.raises(ConfigError, match=r"kernel height K=3 \(3x2 kernel\)"):
        krp_prune(nn.Sequential(nn.Conv2d(1, 2, (3, 2))), 3)


def test_model_without_conv_is_refused() -> None:
    with pytest.raises(WorkloadError, match="model has no Conv2d layer"):
        krp_prune(nn.Sequential(nn.Linear(4, 2)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: krp_prune(m, first_layer="sparse"), "first_layer must be one of 'krp', 'dense', not 'sparse'"),
        (lambda m: fc_prune(m, 1.0), r"fc_prune must be a number in \[0, 1\), not 1.0"),
        (lambda m: fc_prune(m, 0.5, pointwise="x"), "pointwise must be one of 'dense', 'magnitude', not 'x'"),
    ],
)
def test_bad_options(call: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call(small_cnn())  # type: ignore[operator]


@settings(max_examples=40, deadline=None)
@given(
    out_c=st.integers(1, 4),
    in_c=st.integers(1, 4),
    height=st.integers(2, 6),
    width=st.integers(1, 5),
    data=st.data(),
)
def test_krp_invariants_on_random_kernels(out_c: int, in_c: int, height: int, width: int, data: st.DataObject) -> None:
    rows_kept = data.draw(st.integers(1, height - 1))
    seed = data.draw(st.integers(0, 2**31))
    conv = nn.Conv2d(in_c, out_c, (height, width), bias=False)
    with torch.no_grad():
        weight = torch.randn(conv.weight.shape, generator=torch.Generator().manual_seed(seed))
        # round to a coarse grid so that equal row norms (ties) occur
        conv.weight.copy_(torch.round(weight * 2) / 2)
    original = conv.weight.detach().clone().numpy()
    pruned = krp_prune(nn.Sequential(conv), rows_kept)
    record = pruned.record("0")
    weight = pruned.weight("0").detach().numpy()
    assert np.array_equal(record.kept_rows.numpy(), reference_rows(original, rows_kept))
    rows_alive = record.mask.numpy().all(axis=3)
    assert (rows_alive.sum(axis=2) == rows_kept).all()  # exactly rows_kept rows per kernel
    assert (record.mask.numpy().any(axis=3) == rows_alive).all()  # whole rows, never parts
    assert not weight[~record.mask.numpy()].any()
    assert np.array_equal(weight[record.mask.numpy()], original[record.mask.numpy()])
    assert record.pruned == out_c * in_c * (height - rows_kept) * width
