"""The Verilator runner: builds from argv lists, a content-hash cache, typed errors with stderr."""

from __future__ import annotations

import logging

import pytest

from accelsim.errors import ConfigError, ToolError
from accelsim.rtl.emit import harness_source
from accelsim.rtl.verilator import VerilatorRunner

COUNTER = """
module counter (input wire clk);
    integer cycles = 0;
    integer limit;
    always @(posedge clk) begin
        cycles <= cycles + 1;
        if (!$value$plusargs("limit=%d", limit)) limit = 3;
        if (cycles == limit) begin
            $display("counted %0d", cycles);
            $finish;
        end
    end
endmodule
"""


@pytest.mark.verilator
def test_second_build_of_the_same_design_is_skipped(tmp_path, caplog):
    source = tmp_path / "counter.v"
    source.write_text(COUNTER)
    runner = VerilatorRunner(tmp_path / "cache", jobs=2)
    first = runner.build([source, harness_source()], {}, "counter")
    assert not first.cached and first.binary.is_file()
    with caplog.at_level(logging.INFO, logger="accelsim"):
        second = runner.build([source, harness_source()], {}, "counter")
    assert second.cached and second.key == first.key and second.binary == first.binary
    assert any("reusing Verilator build" in record.getMessage() for record in caplog.records)
    assert "counted 5" in runner.run(second, {"limit": 5}, tmp_path).stdout
    # a changed source is a new build
    source.write_text(COUNTER.replace("counted", "reached"))
    assert runner.key([source, harness_source()], {}, "counter") != first.key


@pytest.mark.verilator
def test_a_failing_build_raises_with_verilators_stderr(tmp_path):
    source = tmp_path / "broken.v"
    source.write_text("module broken (input wire clk);\n    assign = ;\nendmodule\n")
    runner = VerilatorRunner(tmp_path / "cache")
    with pytest.raises(ToolError) as caught:
        runner.build([source, harness_source()], {}, "broken")
    assert "broken.v:2" in caught.value.stderr
    assert str(caught.value).startswith("verilator must succeed")
    assert not (
        tmp_path / "cache" / runner.key([source, harness_source()], {}, "broken") / "build.ok"
    ).exists()


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="jobs must be an integer >= 1, not 0"):
        VerilatorRunner(tmp_path, jobs=0)
