"""[fleet]: the lease timings of several daemons on one store, checked when read."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config import parse_config
from syncd.core.errors import ConfigError

PATHS = {"inbox": "inbox", "state_dir": "state"}


def test_the_defaults_take_over_within_30_seconds(tmp_path: Path) -> None:
    fleet = parse_config({"paths": PATHS}, tmp_path).fleet
    assert fleet.lease_ttl_s + fleet.lease_renew_s <= 30


def test_short_timings_for_tests_are_accepted(tmp_path: Path) -> None:
    data = {"paths": PATHS, "fleet": {"lease_ttl_s": 3, "lease_renew_s": 0.5, "lease_margin_s": 1}}
    assert parse_config(data, tmp_path).fleet.lease_renew_s == 0.5


def test_timings_that_leave_no_renewal_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    data = {"paths": PATHS, "fleet": {"lease_ttl_s": 4, "lease_renew_s": 3, "lease_tll_s": 1}}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, tmp_path)
    text = str(caught.value)
    assert "fleet.lease_ttl_s: must be longer than lease_margin_s + lease_renew_s" in text
    assert "fleet.lease_tll_s" in text
