"""`freshrec serve` refuses an open API beyond loopback (the rule itself: tests/unit/inference/serving/test_exposure.py)."""

from __future__ import annotations

from click.testing import CliRunner

from infra.cli import main


def test_serve_refuses_to_start_on_all_interfaces_without_a_key() -> None:
    """Before it loads anything: no model or store is needed to refuse."""
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"FRESHREC_SERVING__API_KEY": ""})
    assert result.exit_code != 0 and "refusing to serve on 0.0.0.0 without an API key" in result.output
