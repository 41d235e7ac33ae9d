"""Alert rules (pure) and the board that says each alert once until it clears."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from syncd.config import AlertsConfig
from syncd.runtime.alerts import (
    Alert,
    AlertBoard,
    AlertFacts,
    AwaitingApproval,
    FailedImage,
    OpenHold,
    alerts_for,
    how_long,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = AlertsConfig(approval_wait_s=3600, no_export_s=86400, key_expiry_warn_days=14)


def facts(**overrides: object) -> AlertFacts:
    base: dict[str, object] = {
        "watching_since": NOW - timedelta(hours=1),
        "last_export_at": NOW - timedelta(hours=2),
    }
    base.update(overrides)
    return AlertFacts(**base)  # type: ignore[arg-type]


def keys(alerts: list[Alert]) -> list[str]:
    return [alert.key for alert in alerts]


def test_nothing_to_say_when_all_is_well() -> None:
    assert alerts_for(facts(), SETTINGS, NOW) == []


def test_approval_wait_alerts_only_past_the_configured_wait() -> None:
    waiting = (
        AwaitingApproval("A1", NOW - timedelta(minutes=59), "http://portal/a1"),
        AwaitingApproval("A2", NOW - timedelta(hours=3), "http://portal/a2"),
    )
    alerts = alerts_for(facts(awaiting_approval=waiting), SETTINGS, NOW)
    assert keys(alerts) == ["approval:A2"]
    assert "waited 3 h 0 min" in alerts[0].message
    assert "http://portal/a2" in alerts[0].message


def test_each_failed_image_is_its_own_alert_with_hemnets_message() -> None:
    images = (
        FailedImage("A1", "http://img/1.jpg", "too small"),
        FailedImage("A1", "http://img/2.jpg", None),
    )
    alerts = alerts_for(facts(failed_images=images), SETTINGS, NOW)
    assert keys(alerts) == ["image:A1:http://img/1.jpg", "image:A1:http://img/2.jpg"]
    assert "too small" in alerts[0].message


def test_no_export_counts_from_the_last_export_or_from_start() -> None:
    quiet = facts(last_export_at=NOW - timedelta(hours=25))
    assert keys(alerts_for(quiet, SETTINGS, NOW)) == ["no_export"]
    never = facts(last_export_at=None, watching_since=NOW - timedelta(days=2))
    alerts = alerts_for(never, SETTINGS, NOW)
    assert keys(alerts) == ["no_export"]
    assert "none since syncd started" in alerts[0].message
    fresh_start = facts(last_export_at=None, watching_since=NOW - timedelta(hours=1))
    assert alerts_for(fresh_start, SETTINGS, NOW) == []


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(30, []), (14, ["key_expiry"]), (3, ["key_expiry"]), (-1, ["key_expiry"])],
)
def test_key_expiry_warns_within_the_configured_days(days_left: int, expected: list[str]) -> None:
    expiring = facts(key_expires_at=NOW + timedelta(days=days_left))
    alerts = alerts_for(expiring, SETTINGS, NOW)
    assert keys(alerts) == expected
    if days_left < 0:
        assert "has expired" in alerts[0].message


def test_a_held_plan_names_the_release_command() -> None:
    hold = OpenHold(7, "agency-1", 12, NOW - timedelta(hours=1), "empty full export")
    alerts = alerts_for(facts(open_holds=(hold,)), SETTINGS, NOW)
    assert keys(alerts) == ["hold:7"]
    assert "syncd hold release 7" in alerts[0].message
    assert "12 listing(s)" in alerts[0].message


def test_the_board_says_each_alert_once_until_it_clears(caplog: pytest.LogCaptureFixture) -> None:
    board = AlertBoard()
    first = Alert("no_export", "no export for 25 h")
    later = Alert("no_export", "no export for 26 h")  # same condition, grown
    with caplog.at_level(logging.INFO, logger="syncd.runtime.alerts"):
        new, cleared = board.update([first])
        assert (new, cleared) == ([first], [])
        new, cleared = board.update([later])
        assert (new, cleared) == ([], [])
        new, cleared = board.update([])
        assert (new, cleared) == ([], [first])
        new, _ = board.update([later])
        assert new == [later]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["alert: no export for 25 h", "alert: no export for 26 h"]
    assert any("alert cleared: no_export" in r.getMessage() for r in caplog.records)
    assert board.active == (later,)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(40, "40 s"), (300, "5 min"), (3 * 3600 + 720, "3 h 12 min"), (2 * 86400 + 7200, "2 d 2 h")],
)
def test_how_long_reads_like_an_operator_speaks(seconds: int, text: str) -> None:
    assert how_long(timedelta(seconds=seconds)) == text
