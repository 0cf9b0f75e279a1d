"""``daitn-opt paper``: options that only some papers take are refused by the others (exit 2)."""

from __future__ import annotations

import pytest

from tests.conftest import assert_input_error, run_cli


@pytest.mark.parametrize(
    ("paper", "option", "value"),
    [("kas", "--workers", "2"), ("routing", "--scheduler", "tcp://127.0.0.1:1")],
)
def test_an_option_the_paper_does_not_take_is_refused(tmp_path, paper, option, value) -> None:
    res = run_cli("paper", paper, option, value, "-o", tmp_path / "out")
    assert_input_error(res, option, f"paper {paper}")


def test_parts_belong_to_the_outcomes_paper(tmp_path) -> None:
    res = run_cli("paper", "kas", "--part", "oam", "-o", tmp_path / "out")
    assert_input_error(res, "--part")
