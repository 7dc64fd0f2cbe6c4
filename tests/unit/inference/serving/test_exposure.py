"""The API never serves beyond loopback without a key, unless told so on purpose."""

from __future__ import annotations

import pytest

from inference.serving.config import ServingConfig, is_loopback


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.3.0.9", True), ("::1", True),
                                                 ("localhost", True), ("0.0.0.0", False), ("::", False),
                                                 ("10.0.0.5", False), ("api.internal", False)])  # fmt: skip
def test_loopback_is_told_from_everything_else(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_key_is_required_beyond_loopback_unless_no_auth() -> None:
    ServingConfig().check_exposure("127.0.0.1")
    assert ServingConfig(api_key="").api_key is None  # an empty variable or Secret is no key
    ServingConfig(api_key="k").check_exposure("0.0.0.0")
    ServingConfig().check_exposure("0.0.0.0", no_auth=True)
    with pytest.raises(ValueError, match="refusing to serve on 0.0.0.0 without an API key"):
        ServingConfig().check_exposure("0.0.0.0")
