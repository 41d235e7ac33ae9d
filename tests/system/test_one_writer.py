"""Real daemon and sandbox processes: one writer per state database (a second daemon
refuses to start, a SIGKILLed daemon's lock does not outlive it, commands hand their
requests to the running daemon, which acts within seconds), a removal happens when its
grace period ends, and agencies are named by the export or the config, never by their key."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.config import bundled_mappings_dir
from tests.system import support
from tests.system.support import (
    SYNCD,
    TOKEN,
    DaemonProcess,
    free_port,
    wait_for,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

IMAGES = 4
HEADER = "objektnummer;status;gatuadress;postnummer;ort;utgangspris;boendeform;" + ";".join(
    f"bild_{n}" for n in range(1, IMAGES + 1)
)


def row(key: str, price: int) -> str:
    images = ";".join(f"http://img.example/{key}/{n}.jpg" for n in range(1, IMAGES + 1))
    return f"{key};till salu;Storgatan {key};11122;Stockholm;{price};villa;{images}"


def drop(inbox: Path, name: str, *rows: str) -> None:
    support.drop(inbox, name, *rows, header=HEADER)


def write_config(directory: Path, base_url: str, extra_sync: str = "", extra: str = "") -> Path:
    path = support.write_config(
        directory, base_url, extra=extra, extra_sync=extra_sync, poll_interval_slow_s=30
    )
    (directory / "inbox").mkdir(exist_ok=True)
    return path


def run_syncd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG"))}
    return subprocess.run(
        [str(SYNCD), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**base, "SYNCD_HEMNET_TOKEN": TOKEN},
        timeout=60,
        check=False,
    )


def world(base_url: str) -> dict[str, Any]:
    root = base_url.removesuffix("/v1")
    state: dict[str, Any] = httpx.get(f"{root}/_sandbox/state").json()["state"]
    return state


def listings_by_key(base_url: str) -> dict[str, dict[str, Any]]:
    return {x["fields"].get("externalId"): x for x in world(base_url)["listings"]}


def set_faults(base_url: str, **rates: float) -> None:
    root = base_url.removesuffix("/v1")
    httpx.put(f"{root}/_sandbox/faults", json=rates).raise_for_status()


def running(daemon: DaemonProcess) -> bool:
    return "syncd running" in daemon.text()


def all_visible(base_url: str, keys: list[str]) -> bool:
    found = listings_by_key(base_url)
    return all(k in found and found[k]["is_published"] for k in keys)


def database(directory: Path) -> Path:
    return directory / "state" / "syncd.db"


# --- one daemon per state ------------------------------------------------------------------


def test_a_second_daemon_exits_at_once_naming_the_first_and_nothing_is_duplicated(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    # With [http] on, the second one used to fail only because the port was taken.
    http = f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
    config = write_config(tmp_path, sandbox, extra=http)
    first = start_daemon(config)
    wait_for(lambda: running(first), 30, "the first daemon to run")
    keys = [f"K{n}" for n in range(1, 8)]
    # A burst of full exports while a second daemon tries to start on the same state.
    for n in range(4):
        drop(tmp_path / "inbox", f"burst-{n}.csv", *(row(k, 1_000_000 + n) for k in keys))
    started = time.monotonic()
    second = run_syncd(config, "run")
    took_s = time.monotonic() - started

    assert second.returncode == 8, second.stderr
    assert took_s < 10
    assert f"PID {first.process.pid}" in second.stderr
    assert "already writing the state database" in second.stderr
    assert "cannot listen" not in second.stderr  # refused before it tried the port
    assert "remedy:" in second.stderr
    wait_for(lambda: all_visible(sandbox, keys), 60, "every listing published")
    state = world(sandbox)
    ours = {x["id"] for x in state["listings"] if x["fields"].get("externalId") in keys}
    per_url = Counter(
        (i["listing_id"], i["url"]) for i in state["images"] if i["listing_id"] in ours
    )
    assert len(per_url) == len(keys) * IMAGES
    assert max(per_url.values()) == 1, [k for k, n in per_url.items() if n > 1]
    assert len(ours) == len(keys)
    assert first.process.poll() is None  # the first one never noticed


def test_the_lock_of_a_killed_daemon_does_not_block_the_next_start(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox)
    first = start_daemon(config)
    wait_for(lambda: running(first), 30, "the first daemon to run")
    lock = tmp_path / "state" / "syncd.db.lock"
    assert lock.read_text().split()[0] == str(first.process.pid)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    # The file still names the dead daemon: only the kernel's lock says who is alive.
    assert lock.read_text().split()[0] == str(first.process.pid)

    second = start_daemon(config)
    wait_for(lambda: running(second) or second.process.poll() is not None, 30, "a start")
    assert second.process.poll() is None, second.text()
    assert lock.read_text().split()[0] == str(second.process.pid)
    assert second.stop() == 0


def test_db_upgrade_refuses_to_change_the_schema_under_a_running_daemon(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox)
    daemon = start_daemon(config)  # runs 'syncd db upgrade' first: the lock is free then
    wait_for(lambda: running(daemon), 30, "the daemon to run")
    for args in (("db", "upgrade"), ("db", "downgrade", "base", "--yes")):
        refused = run_syncd(config, *args)
        assert refused.returncode == 8, refused.stderr
        assert f"PID {daemon.process.pid}" in refused.stderr
    assert daemon.process.poll() is None
    assert daemon.stop() == 0
    assert run_syncd(config, "db", "upgrade").returncode == 0  # stopped: free again


# --- commands hand their requests to the daemon --------------------------------------------


def test_commands_beside_a_running_daemon_hand_their_requests_to_it(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    removals_held = "mass_removal_min = 0\nmass_removal_share = 0.2\nremoval_grace_s = 0"
    config = write_config(tmp_path, sandbox, removals_held)
    keys = ["A1", "A2", "A3"]
    daemon = start_daemon(config)
    wait_for(lambda: running(daemon), 30, "the daemon to run")
    drop(tmp_path / "inbox", "first.csv", *(row(k, 2_000_000) for k in keys))
    wait_for(lambda: all_visible(sandbox, keys), 60, "every listing published")

    # retry: a create backing off for an hour is sent within seconds of 'syncd retry'.
    set_faults(sandbox, fault_503=1.0)
    drop(tmp_path / "inbox", "second.csv", *(row(k, 2_000_000) for k in [*keys, "B1"]))
    wait_for(lambda: _backing_off(tmp_path, "B1"), 30, "the create of B1 to back off")
    with sqlite3.connect(database(tmp_path)) as connection:
        later = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat(" ")
        connection.execute(
            "UPDATE operations SET next_attempt_at = ? WHERE listing_key = 'B1'", (later,)
        )
    set_faults(sandbox, fault_503=0.0)
    asked = time.monotonic()
    result = run_syncd(config, "retry", "B1")
    assert result.returncode == 0, result.stderr
    assert f"handed to the running daemon 'syncd run' (PID {daemon.process.pid})" in result.stdout
    assert "the daemon sends them now" in result.stdout
    assert "syncd apply" not in result.stdout + result.stderr
    wait_for(lambda: "B1" in listings_by_key(sandbox), 10, "B1 created after the retry")
    assert time.monotonic() - asked < 10

    # An unknown key names the problem, not a database upgrade.
    unknown = run_syncd(config, "retry", "NO-SUCH-KEY")
    assert unknown.returncode == 2
    assert "there is no listing 'NO-SUCH-KEY'" in unknown.stderr
    assert "db upgrade" not in unknown.stderr

    # hold release: the held removal is carried out by the daemon within seconds.
    drop(tmp_path / "inbox", "third.csv", row("A1", 2_000_000), row("B1", 2_000_000))
    hold_id = wait_for(lambda: _open_hold(tmp_path), 20, "the removal to be held")
    released = run_syncd(config, "hold", "release", str(hold_id))
    assert released.returncode == 0, released.stderr
    assert f"hold {hold_id} released" in released.stdout
    assert "syncd apply" not in released.stdout
    wait_for(
        lambda: not any(listings_by_key(sandbox)[k]["is_published"] for k in ("A2", "A3")),
        10,
        "A2 and A3 unpublished after the release",
    )

    # apply and reconcile: run by the daemon, their results printed here.
    applied = run_syncd(config, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "handed to the running daemon" in applied.stdout
    assert "applied: " in applied.stdout
    reconciled = run_syncd(config, "reconcile")
    assert reconciled.returncode == 0, reconciled.stderr
    assert "handed to the running daemon" in reconciled.stdout
    assert "listing(s) compared with Hemnet" in reconciled.stdout

    # ingest from outside the inbox: the daemon's pass runs now, not at the safety net.
    outside = tmp_path / "outside.csv"
    outside.write_text("\n".join((HEADER, *(row(k, 2_000_000) for k in ("A1", "B1", "D1")))) + "\n")
    asked = time.monotonic()
    ingested = run_syncd(config, "ingest", str(outside))
    assert ingested.returncode == 0, ingested.stderr
    assert f"daemon 'syncd run' (PID {daemon.process.pid}) sends the changes now" in (
        ingested.stderr
    )
    wait_for(lambda: "D1" in listings_by_key(sandbox), 10, "D1 created after the ingest")
    assert time.monotonic() - asked < 10

    assert daemon.stop() == 0
    log = daemon.text()
    for kind in ("retry B1", "hold-release", "apply", "reconcile", "sync"):
        assert f": {kind}" in log, kind


def test_a_command_without_a_daemon_takes_the_lock_and_a_daemon_started_meanwhile_refuses(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox)
    assert run_syncd(config, "db", "upgrade").returncode == 0
    lock = tmp_path / "state" / "syncd.db.lock"
    # A slow sandbox keeps 'syncd apply' inside its pass (every call takes a second); once it
    # holds the lock, SIGSTOP keeps it there for as long as the checks take.
    set_faults(sandbox, latency_ms=1000)
    keys = [f"C{n}" for n in range(1, 4)]
    (tmp_path / "inbox" / "c.csv").write_text(
        "\n".join((HEADER, *(row(k, 3_000_000) for k in keys))) + "\n", encoding="utf-8"
    )
    ingested = run_syncd(config, "ingest", str(tmp_path / "inbox" / "c.csv"))
    assert ingested.returncode == 0, ingested.stderr
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG"))}
    apply = subprocess.Popen(
        [str(SYNCD), "--config", str(config), "apply"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, "SYNCD_HEMNET_TOKEN": TOKEN},
    )
    try:
        wait_for(lambda: lock.exists() and "syncd apply" in lock.read_text(), 20, "apply's lock")
        apply.send_signal(signal.SIGSTOP)
        assert f"{apply.pid} syncd apply" in lock.read_text()
        refused = run_syncd(config, "run")
        assert refused.returncode == 8
        assert f"'syncd apply' (PID {apply.pid})" in refused.stderr
        retry = run_syncd(config, "retry", "C1")
        assert retry.returncode == 8
        assert "wait until it has finished" in retry.stderr
    finally:
        apply.send_signal(signal.SIGCONT)
        set_faults(sandbox, latency_ms=0)
        out, err = apply.communicate(timeout=60)
    assert apply.returncode == 0, err
    assert "applied: " in out


# --- time-driven steps ---------------------------------------------------------------------


def test_a_removal_happens_when_its_grace_period_ends(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    grace_s = 3
    config = write_config(tmp_path, sandbox, f"removal_grace_s = {grace_s}")
    daemon = start_daemon(config)
    wait_for(lambda: running(daemon), 30, "the daemon to run")
    keys = ["G1", "G2", "G3"]
    drop(tmp_path / "inbox", "all.csv", *(row(k, 4_000_000) for k in keys))
    wait_for(lambda: all_visible(sandbox, keys), 60, "every listing published")
    dropped_at = time.monotonic()
    drop(tmp_path / "inbox", "less.csv", row("G1", 4_000_000), row("G2", 4_000_000))
    # Nothing else asks for a pass: the safety net is 10 minutes away, polls change nothing.
    wait_for(
        lambda: not listings_by_key(sandbox)["G3"]["is_published"], grace_s + 10, "G3 unpublished"
    )
    assert time.monotonic() - dropped_at >= grace_s
    assert all(listings_by_key(sandbox)[k]["is_published"] for k in ("G1", "G2"))
    assert daemon.stop() == 0


def _backing_off(directory: Path, key: str) -> bool:
    with sqlite3.connect(database(directory)) as connection:
        found = connection.execute(
            "SELECT count(*) FROM operations WHERE listing_key = ? AND status = 'intent' "
            "AND attempts >= 1 AND next_attempt_at IS NOT NULL",
            (key,),
        ).fetchone()
    return bool(found[0])


def _open_hold(directory: Path) -> int | None:
    with sqlite3.connect(database(directory)) as connection:
        found = connection.execute(
            "SELECT id FROM holds WHERE released_at IS NULL ORDER BY id"
        ).fetchone()
    return None if found is None else int(found[0])


# --- agencies are named by the export or the config ----------------------------------------

AGENCY_HEADER = (
    "objektnummer;maklarbyra;maklarbyra_namn;maklarbyra_orgnr;status;gatuadress;postnummer;"
    "ort;utgangspris;boendeform;bild_1"
)


def agency_row(key: str, agency: str, name: str = "", org: str = "") -> str:
    return (
        f"{key};{agency};{name};{org};till salu;Storgatan {key};11122;Stockholm;1500000;villa;"
        f"http://img.example/{key}/1.jpg"
    )


def test_agencies_get_their_names_from_the_export_or_the_config_never_their_key(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    # Two CRMs: A's files (a-*.csv) name no agency, so [agency] is theirs; B's (b-*.csv,
    # its own copy of the mapping) name their agencies, one of them without a name.
    bundled = (bundled_mappings_dir() / "generic-csv.toml").read_text(encoding="utf-8")
    crm_b = tmp_path / "crm-b.toml"
    crm_b.write_text(bundled.replace('name = "generic-csv"', 'name = "crm-b"'), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""\
[paths]
inbox = "inbox"
state_dir = "state"

[hemnet]
base_url = "{sandbox}"

[agency]
key = "byra-a"
name = "Byrå A AB"
organisation_number = "556000-0001"

[agencies.byra-c]
name = "Byrå C AB"
organisation_number = "556000-0003"

[sync]
poll_interval_fast_s = 0.3
poll_interval_slow_s = 30

[watch]
settle_s = 0.1
rescan_interval_s = 1

[[formats]]
pattern = "a-*.csv"
mapping = "generic-csv"

[[formats]]
pattern = "b-*.csv"
mapping = "{crm_b}"
""",
        encoding="utf-8",
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = start_daemon(config)
    wait_for(lambda: running(daemon), 30, "the daemon to run")

    def write(name: str, *rows: str) -> None:
        (inbox / f".{name}.part").write_text("\n".join((AGENCY_HEADER, *rows)) + "\n")
        (inbox / f".{name}.part").rename(inbox / name)

    write("a-1.csv", agency_row("A1", ""), agency_row("A2", ""))
    write(
        "b-1.csv",
        agency_row("B1", "byra-b", "Byrå B AB", "556000-0002"),
        agency_row("B2", "byra-b"),
        agency_row("C1", "byra-c"),
        agency_row("X1", "byra-x"),
    )
    wait_for(lambda: all_visible(sandbox, ["A1", "A2", "B1", "B2", "C1"]), 60, "published")
    agencies = {a["external_id"]: a for a in world(sandbox)["agencies"]}
    named = {key: (a["name"], a["organisation_number"]) for key, a in agencies.items()}
    assert named == {
        "byra-a": ("Byrå A AB", "556000-0001"),
        "byra-b": ("Byrå B AB", "556000-0002"),
        "byra-c": ("Byrå C AB", "556000-0003"),
    }
    assert "X1" not in listings_by_key(sandbox)
    plan = run_syncd(config, "plan")
    assert "agency 'byra-x' has no name" in plan.stdout
    assert "[agencies.byra-x]" in plan.stdout

    # An empty full export from CRM B is charged to B's agencies, not to the config's.
    write("b-2.csv")
    hold_agencies = wait_for(lambda: _hold_agencies(tmp_path), 20, "the empty export held")
    assert hold_agencies == {"byra-b", "byra-c", "byra-x"}
    assert all(listings_by_key(sandbox)[k]["is_published"] for k in ("A1", "B1", "C1"))
    assert daemon.stop() == 0


def _hold_agencies(directory: Path) -> set[str]:
    with sqlite3.connect(database(directory)) as connection:
        rows = connection.execute("SELECT agency_key FROM holds WHERE released_at IS NULL")
        return {str(agency) for (agency,) in rows}
