"""The status book: each listing's status row and file texts kept in the store, rebuilt
only for the listings whose status inputs were written since, and the status files
streamed from there.

At 100,000 listings, building every row and keeping every listing's inputs and texts in
memory cost half a gigabyte and a read of every listing per refresh. Here the store's
triggers mark each listing whose row, images, operations or checks are written
(``store.status_entries``); a refresh builds the marked ones (and those a changed sending
block or hold touches), a thousand at a time, and stores their entries. The files come out
byte for byte as a full write (``write_status_files``) makes them.

A change of what an entry holds (the texts' format) needs a migration that marks every
listing, as 0010_statusbook does. Reads the store; its writes (entries, computed stages,
the marks it consumed) go through the ``write`` it is handed, the daemon's single writer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd import metrics
from syncd.core.packed import distinct_keys
from syncd.core.stages import Stage, awaiting_approval_for
from syncd.status.files import record_texts, write_status_stream
from syncd.status.rows import RowInputs, StatusRow, completeness_of
from syncd.store.blocked import SendingBlocked, sending_blocked
from syncd.store.engine import Session, Store
from syncd.store.holds import held_listing_keys
from syncd.store.listing_states import read_listing_states
from syncd.store.listings import record_stages
from syncd.store.status_entries import (
    StatusEntry,
    checks_of_keys,
    clear_status_marks,
    held_entry_keys,
    marked_listing_keys,
    oldest_awaiting,
    open_counts_of,
    put_status_entries,
    read_status_entries,
    stage_counts,
    stale_for_block,
    status_mark_runs,
    status_texts,
    stored_listing_keys,
    unbuilt_listing_keys,
)

# Listings built per read and per write: about 1 MB of decoded listings at a time. A first
# build of 100,000 listings peaked 6 MiB above its start with 250, 12 with 1,000, and kept
# about that much of the heap pinned after it, for the same CPU.
CHUNK = 250

# Runs a job of store writes on the store's writer and returns when it is done.
Writer = Callable[[Callable[[], None]], None]


def _run_here(job: Callable[[], None]) -> None:
    job()


@dataclass(frozen=True)
class BookUpdate:
    """One refresh: listings per stage (lifecycle order), the stages it stored, and how
    many listings it built again."""

    summary: dict[str, int]
    total: int
    moved: dict[str, str]  # listing_key -> the stage stored for it (it had another)
    rebuilt: int
    dropped: int = 0  # entries of listings gone from the store

    @property
    def changed(self) -> bool:
        """Some entry was stored or dropped: the files differ from the last ones."""
        return bool(self.rebuilt or self.dropped)


class StatusBook:
    """The status entries in the store, refreshed on demand; thread-safe, so the status
    page and the status files share one book."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self._lock = threading.Lock()
        self._chunk = chunk
        self._swept = False

    def refresh(self, store: Store, now: datetime, write: Writer = _run_here) -> BookUpdate:
        """Build and store the entries of the listings whose inputs were written since the
        last refresh; sets the status gauges."""
        # One refresh at a time: an older build must not replace the entries of a newer one.
        with self._lock:
            with store.read() as session:
                runs = status_mark_runs(session)
                blocked = sending_blocked(session)
                tag = blocked_tag(blocked)
                sources: list[Iterable[str]] = [
                    marked_listing_keys(session),
                    _touched(session, tag),
                ]
                if not self._swept:
                    # Once per process: a listing with no entry, which no mark should allow.
                    sources.append(unbuilt_listing_keys(session))
                # Packed (a few bytes a key): at a first build every listing is marked, and
                # sets of every key cost about 18 MiB beside the chunks being built.
                ordered = distinct_keys(*sources)
            moved: dict[str, str] = {}
            rebuilt = dropped = 0
            for start in range(0, len(ordered), self._chunk):
                chunk = [ordered[n] for n in range(start, min(start + self._chunk, len(ordered)))]
                with store.read() as session:
                    built = _build(session, chunk, blocked, tag)
                entries, gone, chunk_moved = built
                rebuilt += len(entries)
                moved.update(chunk_moved)
                counted: list[int] = []
                write(_storing(store, entries, gone, chunk_moved, counted))
                dropped += sum(counted)
            if runs:
                write(_clearing(store, runs))
            self._swept = True
        summary, total = self.summary(store, now)
        return BookUpdate(summary, total, moved, rebuilt, dropped)

    def summary(self, store: Store, now: datetime) -> tuple[dict[str, int], int]:
        """Listings per stage (lifecycle order) and in all, as of the last refresh; sets the
        stage and approval-wait gauges."""
        with store.read() as session:
            counts = stage_counts(session)
            oldest = oldest_awaiting(session, Stage.AWAITING_APPROVAL.value)
        _observe(counts, oldest, now)
        summary = {stage.value: counts[stage.value] for stage in Stage if counts.get(stage.value)}
        return summary, sum(counts.values())

    def write_files(self, store: Store, directory: Path) -> None:
        """status.json and status.csv in ``directory`` as of the last refresh, streamed from
        the stored entries."""
        with self._lock, store.read() as session:
            write_status_stream(lambda: status_texts(session), directory)

    def rows(
        self,
        store: Store,
        now: datetime,
        order: Sequence[Stage],
        *,
        stage: str | None = None,
        limit: int | None = None,
    ) -> list[StatusRow]:
        """Rows as of the last refresh: held first, then by stage in ``order``, then by key;
        of one ``stage`` if given; at most ``limit``."""
        with store.read() as session:
            entries = read_status_entries(
                session, [s.value for s in order], stage=stage, limit=limit
            )
        return [row_of(entry, now) for entry in entries]


def book_rows(store: Store, now: datetime) -> list[StatusRow]:
    """Every listing's row, by listing_key, from one read and without writing: the stored
    entries, and the listings marked since the last refresh built here."""
    with store.read() as session:
        blocked = sending_blocked(session)
        tag = blocked_tag(blocked)
        stored = {entry.listing_key: entry for entry in read_status_entries(session, ())}
        listed = list(stored_listing_keys(session))
        keys = set(marked_listing_keys(session)) | _touched(session, tag)
        # A listing with no entry yet is built here too, marked or not.
        ordered = sorted(keys | {key for key in listed if key not in stored})
        for start in range(0, len(ordered), CHUNK):
            entries, _, _ = _build(session, ordered[start : start + CHUNK], blocked, tag)
            stored.update((entry.listing_key, entry) for entry in entries)
    return [row_of(stored[key], now) for key in listed]


def _touched(session: Session, tag: str) -> set[str]:
    """Listings to build again though not marked: those whose hold opened or closed, those
    waiting under another sending block than ``tag``."""
    held = held_listing_keys(session)
    return stale_for_block(session, tag) | held.symmetric_difference(held_entry_keys(session))


def blocked_tag(blocked: SendingBlocked | None) -> str:
    """The sending block an entry is built under, as stored beside it ("": none)."""
    if blocked is None:
        return ""
    return json.dumps([blocked.reason, blocked.remedy, blocked.since.isoformat()])


def _build(
    session: Session, keys: Sequence[str], blocked: SendingBlocked | None, tag: str
) -> tuple[list[StatusEntry], set[str], dict[str, str]]:
    """Entries of these listings, the keys of those gone from the store, and the stages
    that moved."""
    # A read of some keys takes what the pass decoded already and evicts nothing.
    states = read_listing_states(session, keys=keys)
    pending = open_counts_of(session, keys)
    checks = checks_of_keys(session, keys)
    held = held_listing_keys(session)
    entries: list[StatusEntry] = []
    moved: dict[str, str] = {}
    for state in states:
        key = state.listing_key
        inputs = RowInputs(
            state,
            held=key in held,
            pending_ops=pending.get(key, 0),
            completeness=completeness_of(checks.get(key)),
            blocked=blocked,
        )
        # The texts hold no time-dependent value: any ``now`` builds the same entry.
        row = inputs.row(state.updated_at)
        json_text, csv_line = record_texts(row)
        entries.append(
            StatusEntry(
                listing_key=key,
                agency_key=state.agency_key,
                stage=row.stage.value,
                held=row.held,
                pending_ops=inputs.pending_ops,
                built_blocked=tag,
                published_at=row.published_at,
                blockers=row.blockers,
                completeness=row.completeness,
                json_text=json_text,
                csv_line=csv_line,
            )
        )
        if state.stage != row.stage.value:
            moved[key] = row.stage.value
    gone = set(keys) - {state.listing_key for state in states}
    return entries, gone, moved


def _storing(
    store: Store,
    entries: list[StatusEntry],
    gone: set[str],
    moved: dict[str, str],
    dropped: list[int],
) -> Callable[[], None]:
    def job() -> None:
        with store.transaction() as session:
            dropped.append(put_status_entries(session, entries, gone))
            if moved:
                record_stages(session, moved)

    return job


def _clearing(store: Store, runs: tuple[tuple[int, int], ...]) -> Callable[[], None]:
    def job() -> None:
        with store.transaction() as session:
            clear_status_marks(session, runs)

    return job


def row_of(entry: StatusEntry, now: datetime) -> StatusRow:
    """The status row an entry was built from, its approval wait as of ``now``."""
    record = json.loads(entry.json_text)
    stage = Stage(entry.stage)
    waited = None
    if stage is Stage.AWAITING_APPROVAL and entry.published_at is not None:
        waited = awaiting_approval_for(entry.published_at, now).total_seconds()
    return StatusRow(
        listing_key=entry.listing_key,
        address=record["address"],
        agency=record["agency"],
        hemnet_id=record["hemnet_id"],
        stage=stage,
        images_completed=record["images_completed"],
        images_total=record["images_total"],
        images_failed=record["images_failed"],
        visible=record["visible"],
        approval_url=record["approval_url"],
        published_at=entry.published_at,
        awaiting_approval_s=waited,
        hemnet_url=record["hemnet_url"],
        last_error=record["last_error"],
        next_action=record["next_action"],
        updated_at=datetime.fromisoformat(record["updated_at"]),
        blockers=entry.blockers,
        held=entry.held,
        not_sent=record["not_sent"],
        completeness=entry.completeness,
    )


def _observe(counts: dict[str, int], oldest: datetime | None, now: datetime) -> None:
    """The stage and approval-wait gauges, as ``rows.observe`` sets them from rows."""
    for stage in Stage:
        metrics.LISTINGS_BY_STAGE.labels(stage.value).set(counts.get(stage.value, 0))
    waited = 0.0 if oldest is None else awaiting_approval_for(oldest, now).total_seconds()
    metrics.OLDEST_AWAITING_APPROVAL.set(waited)
