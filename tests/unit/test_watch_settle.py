"""Readiness of inbox files, decided without a clock or a disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.runtime.watch import Settle, is_ignored

A = Path("/inbox/a.xml")
B = Path("/inbox/b.xml")
C = Path("/inbox/c.csv")


def test_not_ready_until_unchanged_for_settle_s() -> None:
    settle = Settle(1.0)
    settle.observe(A, 100, 5, now=10.0)
    assert settle.ready(10.9) == []
    settle.observe(A, 200, 6, now=10.9)  # still growing: the clock starts again
    assert settle.ready(11.5) == []
    settle.observe(A, 200, 6, now=11.5)
    assert settle.ready(11.8) == []
    assert settle.ready(11.9) == [A]


def test_first_sighting_is_not_trusted_even_if_mtime_is_old() -> None:
    settle = Settle(2.0)
    settle.observe(A, 10, mtime_ns=1, now=50.0)  # mtime from long ago, e.g. cp -p
    assert settle.ready(51.0) == []
    assert settle.ready(52.0) == [A]


def test_mtime_change_alone_restarts_settling() -> None:
    settle = Settle(1.0)
    settle.observe(A, 10, 1, now=0.0)
    settle.observe(A, 10, 2, now=0.5)  # rewritten in place with the same size
    assert settle.ready(1.25) == []
    assert settle.ready(1.5) == [A]


def test_arrival_order_is_mtime_then_name() -> None:
    settle = Settle(0.5)
    settle.observe(C, 1, mtime_ns=300, now=0.0)
    settle.observe(B, 1, mtime_ns=100, now=0.0)
    settle.observe(A, 1, mtime_ns=300, now=0.0)
    assert settle.ready(1.0) == [B, A, C]


def test_handed_file_is_not_handed_again_until_it_changes() -> None:
    settle = Settle(1.0)
    settle.observe(A, 10, 1, now=0.0)
    assert settle.ready(1.0) == [A]
    settle.handed(A)
    settle.observe(A, 10, 1, now=2.0)  # ingest left it where it was
    assert settle.ready(100.0) == []
    assert settle.pending() == []
    settle.observe(A, 11, 2, now=101.0)  # the CRM wrote a new version
    assert settle.pending() == [A]
    assert settle.ready(101.5) == []
    assert settle.ready(102.0) == [A]


def test_failures_back_off_exponentially_up_to_a_cap() -> None:
    settle = Settle(0.0, failure_backoff_s=5.0, max_failure_backoff_s=12.0)
    settle.observe(A, 10, 1, now=0.0)
    assert settle.ready(0.0) == [A]
    assert settle.failed(A, now=0.0) == 5.0
    assert settle.ready(4.9) == []
    assert settle.ready(5.0) == [A]
    assert settle.failed(A, now=5.0) == 10.0
    assert settle.ready(14.9) == []
    assert settle.failed(A, now=15.0) == 12.0
    settle.handed(A)
    assert settle.ready(1000.0) == []


def test_change_after_failure_is_tried_after_settling_not_after_backoff() -> None:
    settle = Settle(1.0, failure_backoff_s=300.0)
    settle.observe(A, 10, 1, now=0.0)
    settle.failed(A, now=1.0)
    settle.observe(A, 20, 2, now=2.0)
    assert settle.ready(3.0) == [A]


def test_done_marker_mode_waits_for_the_marker_only() -> None:
    settle = Settle(60.0, done_marker=True)
    settle.observe(A, 10, 1, now=0.0)
    assert settle.ready(1000.0) == []
    settle.observe(A, 10, 1, now=1000.0, marked=True)
    assert settle.ready(1000.0) == [A]


def test_forget_and_retain_drop_files_that_went_away() -> None:
    settle = Settle(0.0)
    for path in (A, B, C):
        settle.observe(path, 1, 1, now=0.0)
    settle.forget(A)
    settle.retain({B})
    assert settle.ready(1.0) == [B]


@pytest.mark.parametrize(
    "name",
    [
        "export.xml.tmp",
        "export.XML.TMP",
        "export.csv.part",
        "export.xml~",
        ".export.xml",
        ".~lock.export.csv#",
        "export.xml.done",
        "status.json",
        "status.csv",
    ],
)
def test_ignored_names(name: str) -> None:
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["export.xml", "EXPORT.CSV", "vitec 2024-05-01.xml", "tmp.xml"])
def test_export_names_are_not_ignored(name: str) -> None:
    assert not is_ignored(name)


def test_custom_ignore_list_replaces_the_default_but_not_markers_or_own_output() -> None:
    assert is_ignored("export.bak", ["*.bak"])
    assert not is_ignored("export.tmp", ["*.bak"])
    assert is_ignored("export.xml.done", ["*.bak"])
    assert is_ignored("status.json", [])


def test_a_file_open_for_writing_waits_for_its_close_however_long_it_pauses() -> None:
    settle = Settle(1.0, open_writer_timeout_s=60.0)
    settle.writing(A)
    settle.observe(A, 994, 1, now=0.0)
    assert settle.ready(30.0) == []  # paused far past settle_s, still open
    settle.closed(A)
    assert settle.ready(30.0) == [A]  # closed and unchanged for settle_s: complete


def test_a_close_then_a_change_settles_again() -> None:
    settle = Settle(1.0, open_writer_timeout_s=60.0)
    settle.writing(A)
    settle.observe(A, 10, 1, now=0.0)
    settle.closed(A)
    settle.observe(A, 20, 2, now=5.0)  # written to after the close: settle from there
    assert settle.ready(5.5) == []
    assert settle.ready(6.0) == [A]


def test_a_writer_never_seen_closing_is_taken_after_the_timeout() -> None:
    # A missed close event (or an attribute change, which reads as a write) must not keep
    # a file in the inbox for ever.
    settle = Settle(1.0, open_writer_timeout_s=60.0)
    settle.writing(A)
    settle.observe(A, 10, 1, now=0.0)
    assert settle.ready(59.0) == []
    assert settle.ready(60.0) == [A]


def test_a_forgotten_file_forgets_its_writer() -> None:
    settle = Settle(1.0, open_writer_timeout_s=60.0)
    settle.writing(A)
    settle.forget(A)
    settle.observe(A, 10, 1, now=0.0)  # a new file of the same name, no event seen
    assert settle.ready(1.0) == [A]


def test_a_file_its_writer_closed_is_ready_at_once() -> None:
    settle = Settle(30.0, open_writer_timeout_s=60.0)
    settle.writing(A)
    settle.observe(A, 10, 1, now=0.0)
    settle.closed(A)
    assert settle.ready(0.0) == [A]  # no quiet time: the close says it is complete


def test_a_close_not_followed_by_a_look_waits_for_the_quiet_time() -> None:
    # Closed before it was ever observed: nothing says which content was complete.
    settle = Settle(1.0, open_writer_timeout_s=60.0)
    settle.closed(A)
    settle.observe(A, 10, 1, now=0.0)
    assert settle.ready(0.5) == []
    assert settle.ready(1.0) == [A]


def test_a_write_after_the_close_waits_for_the_next_close() -> None:
    settle = Settle(30.0, open_writer_timeout_s=60.0)
    settle.observe(A, 10, 1, now=0.0)
    settle.closed(A)
    settle.writing(A)  # opened again and written
    settle.observe(A, 20, 2, now=1.0)
    assert settle.ready(20.0) == []
    settle.closed(A)
    assert settle.ready(20.0) == [A]
