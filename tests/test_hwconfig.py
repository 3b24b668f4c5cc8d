"""Hardware configuration: bundled files, validation messages, dotted replace, devices, resources."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from accelsim.errors import AccelsimError, ConfigError
from accelsim.hw import (
    HwConfig,
    PeKind,
    config_names,
    device_names,
    estimate_resources,
    fits,
    load_config,
    load_device,
)
from accelsim.hw.resources import max_shift_of, product_bits_of, shift_bits_of


def write_yaml(tmp_path, data) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_default_config_is_the_papers_module():
    config = load_config()
    assert config == HwConfig()
    assert config.pe.kind is PeKind.KRP_GSNQ
    assert config.pe.units == 32
    assert config.weight_bits == 4
    assert config.device == "xc7z035"
    assert "default" in config_names()


def test_device_profiles_match_the_data_sheets():
    small = load_device("xc7z035")
    assert (small.lut, small.ff, small.dsp, small.bram36) == (171_900, 343_800, 900, 500)
    large = load_device("xczu9eg")
    assert (large.lut, large.ff, large.dsp, large.bram36) == (274_080, 548_160, 2_520, 912)
    assert set(device_names()) >= {"xc7z035", "xczu9eg"}


def test_replace_by_dotted_name_checks_the_result():
    config = load_config().replace(**{"pe.tn": 16, "ddr.bytes_per_cycle": 4, "clock_mhz": 150})
    assert (config.pe.tn, config.ddr.bytes_per_cycle, config.clock_mhz) == (16, 4, 150)
    assert config.pe.tm == 4  # untouched fields keep their values
    with pytest.raises(ConfigError, match=r"unknown configuration key 'pe.tx'"):
        load_config().replace(**{"pe.tx": 3})
    with pytest.raises(ConfigError, match=r"^pe.tn must be an integer from 1 to 4096, not 0$"):
        load_config().replace(**{"pe.tn": 0})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ddr": {"bytes_per_cycle": 0}}, "ddr.bytes_per_cycle must be an integer from 1 to 4096, not 0"),
        ({"ddr": {"bytes_per_cycle": -8}}, "ddr.bytes_per_cycle must be an integer from 1 to 4096, not -8"),
        ({"ddr": {"latency_cycles": 2.5}}, "ddr.latency_cycles must be an integer from 0 to 100000, not 2.5"),
        ({"pe": {"kind": "foo"}},
         "pe.kind must be one of 'mult_dsp', 'mult_lut', 'gsnq_shift', 'krp_gsnq', not 'foo'"),
        ({"pe": {"tm": True}}, "pe.tm must be an integer from 1 to 4096, not True"),
        ({"clock_mhz": 0}, "clock_mhz must be a positive number up to 2000, not 0"),
        ({"name": ""}, "name must be a non-empty string, not ''"),
        ({"buffers": {"input_bytes": 0}}, "buffers.input_bytes must be an integer from 1 to 1073741824, not 0"),
        ({"ddr": 8}, "ddr must be a mapping of field names to values, not 8"),
        ({"ddr": {"bytes_per_cycle": 8, "burst_bytes": 100}},
         "ddr.burst_bytes must be a multiple of ddr.bytes_per_cycle (8), not 100"),
        ({"ddr": {"bytes_per_cycle": 12}},
         ("ddr.bytes_per_cycle must be a power of two (the DMA engines place beats with shifts and counters), "
         "not 12; the nearest that work: 8 or 16")),
    ],
)
def test_bad_fields_are_named_with_their_range(tmp_path, changes, message):
    with pytest.raises(ConfigError) as error:
        load_config(write_yaml(tmp_path, changes))
    assert str(error.value) == message


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"^unknown configuration key 'ddr.bandwidth'; ddr has the keys"):
        load_config(write_yaml(tmp_path, {"ddr": {"bandwidth": 8}}))
    with pytest.raises(ConfigError, match=r"^unknown configuration key 'speed'"):
        load_config(write_yaml(tmp_path, {"speed": 1}))


def test_unknown_device_and_config_names():
    with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg'.*, not 'xc9000'$"):
        load_config().replace(device="xc9000")
    with pytest.raises(ConfigError, match=r"^config must be one of .*'default'.*, not 'nosuch'$"):
        load_config("nosuch")
    with pytest.raises(ConfigError, match=r"^config file 'missing.yaml' must be an existing file \(no such file\)$"):
        load_config("missing.yaml")


def test_malformed_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pe: [unclosed\n")
    with pytest.raises(ConfigError, match="must be valid YAML"):
        load_config(str(path))


def test_pe_array_larger_than_the_device_is_rejected_at_load():
    with pytest.raises(ConfigError) as error:
        load_config().replace(**{"pe.kind": "mult_dsp", "pe.tn": 32, "pe.tm": 4})
    # 128 units x 9 DSPs = 1152 DSPs > 900: the message names the resource and the fix.
    assert "must fit device 'xc7z035'" in str(error.value)
    assert "DSP" in str(error.value) and "reduce pe.tn or pe.tm" in str(error.value)
    assert isinstance(error.value, AccelsimError)
    # The same array fits the larger part (2520 DSPs, 912 BRAM36).
    assert load_config().replace(**{"pe.kind": "mult_dsp", "pe.tn": 32, "pe.tm": 4, "device": "xczu9eg"})


def test_resource_model_structure():
    config = load_config()
    # dataclasses.replace skips the load-time fit check: the RTL's 8 x 4 mult_lut array (288
    # multipliers of an 8-bit activation by a 16-bit decoded weight in LUTs) exceeds the XC7Z035.
    by_kind = {kind: estimate_resources(dataclasses.replace(config, pe=dataclasses.replace(config.pe, kind=kind)))
               for kind in PeKind}
    # Only the DSP kind uses DSPs in the PE array: 9 taps x 32 units.
    assert by_kind[PeKind.MULT_DSP].pe_array.dsp == 9 * 32
    assert all(by_kind[kind].pe_array.dsp == 0 for kind in PeKind if kind is not PeKind.MULT_DSP)
    # The KRP unit has 3 shifters instead of 9: well under half the LUTs of the dense shift unit.
    ratio = by_kind[PeKind.KRP_GSNQ].pe_unit.lut / by_kind[PeKind.GSNQ_SHIFT].pe_unit.lut
    assert 0.25 < ratio < 0.5
    # The array scales with the number of units.
    wide = estimate_resources(config.replace(**{"pe.tn": 16}))
    assert wide.pe_array.lut > 1.9 * by_kind[PeKind.KRP_GSNQ].pe_array.lut


def test_gsnq_shift_range():
    # The taps shift relative to the layer's smallest level; both signs' GSNQ levels lie within
    # 2^(w-1) + 1 consecutive powers of two (accelsim.compression.gsnq.max_span): shifts 0 .. 2^(w-1).
    assert max_shift_of(4) == 8 and shift_bits_of(4) == 4
    assert max_shift_of(3) == 4 and shift_bits_of(3) == 3
    assert max_shift_of(2) == 2 and shift_bits_of(2) == 2
    # product: the activation shifted by up to 2^(w-1), plus a sign bit (pe_tap.v PROD_W)
    assert product_bits_of(PeKind.KRP_GSNQ, 8, 4) == 17 and product_bits_of(PeKind.GSNQ_SHIFT, 8, 3) == 13
    # multiplier kinds: the activation times a signed w-bit code
    assert product_bits_of(PeKind.MULT_LUT, 8, 4) == 12


def test_fits_reports_the_limiting_resource():
    config = load_config().replace(**{"pe.kind": "mult_dsp"})
    # the PE array alone: 32 units x 9 DSP48s = 288 of 900; 30% of the device is 270
    report = fits(config, budget=0.3, scope="pe_array")
    assert report.limiting == "dsp" and report.need["dsp"] == 288
    assert report.usage["dsp"] == pytest.approx(288 / 900)
    assert not report.fits
    assert fits(config, budget=0.33, scope="pe_array").fits
