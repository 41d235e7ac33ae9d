"""How a key's expiry is said: from the date itself, never "expired" for a date ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncd.usecases.api_key import expiry_text

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_date_ahead_expires_in_days() -> None:
    text = expiry_text(NOW + timedelta(days=9, hours=5), NOW)
    assert text == "expires in 9 day(s) (2026-03-10T17:00:00+00:00)"


def test_less_than_a_day_ahead_counts_hours() -> None:
    assert expiry_text(NOW + timedelta(hours=5, minutes=30), NOW).startswith("expires in 5 h (")


def test_a_date_past_has_expired() -> None:
    assert expiry_text(NOW - timedelta(days=2, hours=1), NOW).startswith("expired 2 day(s) ago (")
    assert expiry_text(NOW - timedelta(minutes=1), NOW) == "expired (2026-03-01T11:59:00+00:00)"


def test_no_date() -> None:
    assert expiry_text(None, NOW) == "Hemnet gives no expiry date"
