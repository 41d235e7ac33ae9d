"""Config: every key, default and mistake as the operator sees it; secrets never from TOML."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest

from syncd.config import (
    Config,
    PlanPolicy,
    bundled_mappings_dir,
    find_token,
    http_access_problems,
    load_config,
    load_http_token,
    load_token,
    load_webhook_secrets,
    parse_config,
    store_renewed_token,
)
from syncd.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"
BASE = Path("/srv/syncd")


def parse(text: str, base: Path = BASE) -> Config:
    return parse_config(tomllib.loads(text), base)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


MINIMAL = '[paths]\ninbox = "in"\nstate_dir = "state"\n'


def test_minimal_config_takes_every_default() -> None:
    config = parse(MINIMAL)
    assert config.paths.inbox == BASE / "in"
    assert config.paths.state_dir == BASE / "state"
    assert config.paths.database == BASE / "state" / "syncd.db"
    assert config.paths.archive == BASE / "state" / "archive"
    assert config.paths.rejected == BASE / "state" / "rejected"
    assert config.paths.mappings_dir == bundled_mappings_dir()
    assert config.hemnet.base_url == "http://127.0.0.1:8765/v1"
    assert (config.hemnet.connect_timeout_s, config.hemnet.read_timeout_s) == (5, 30)
    assert (config.hemnet.requests_per_second, config.hemnet.burst) == (10, 20)
    assert config.hemnet.max_concurrency == 4
    assert config.hemnet.key_renew_before_days == 14
    assert config.agency is None
    # [sync] is parsed straight into the planner's policy: one default for each value.
    assert config.sync.policy == PlanPolicy()
    assert config.sync.policy.removal_grace_s == 86400
    assert config.sync.policy.mass_removal_share == 0.2
    assert config.sync.policy.mass_removal_min == 5
    assert config.sync.policy.failed_image_policy == "skip"
    assert config.sync.policy.publish is True
    assert config.sync.policy.price_change_flag_share == 0.05
    assert config.sync.policy.auto_approve is False
    assert config.watch.settle_s == 2.0
    assert config.watch.ignores(".hidden") and config.watch.ignores("a.csv.part")
    assert not config.watch.ignores("a.csv")
    assert config.formats == ()
    assert config.http.listen is None
    assert config.alerts.approval_wait_s == 172800


def test_every_policy_key_of_sync_reaches_the_planner() -> None:
    config = parse(
        MINIMAL + "[sync]\nremoval_grace_s = 60\nmass_removal_share = 0.3\n"
        'mass_removal_min = 2\nfailed_image_policy = "hold"\npublish = false\n'
        "price_change_flag_share = 0.1\nauto_approve = true\n"
    )
    assert config.sync.policy == PlanPolicy(
        removal_grace_s=60,
        mass_removal_share=0.3,
        mass_removal_min=2,
        failed_image_policy="hold",
        publish=False,
        price_change_flag_share=0.1,
        auto_approve=True,
    )
    found = problems(MINIMAL + "[sync]\nprice_change_flag_share = -0.1\n")
    assert found == ["sync.price_change_flag_share: must be at least 0, got -0.1"]


def test_example_config_is_valid_and_its_commented_keys_are_real(tmp_path: Path) -> None:
    load_config(EXAMPLE)
    # Uncommenting every documented optional key must still give a valid config: the
    # example names no key that does not exist.
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = re.sub(r"(?m)^# ([a-z_]+ = )", r"\1", text)
    assert uncommented != text
    copy = tmp_path / "config.toml"
    copy.write_text(uncommented, encoding="utf-8")
    config = load_config(copy)
    assert config.paths.database == tmp_path / "var" / "state" / "syncd.db"
    assert config.http.listen_address == ("127.0.0.1", 8081)
    assert config.formats[0].export_mode == "full"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "syncd.toml"
    path.write_text(MINIMAL + 'database = "../db/x.db"\n', encoding="utf-8")
    config = load_config(path)
    assert config.paths.inbox == tmp_path / "conf" / "in"
    assert config.paths.database == tmp_path / "db" / "x.db"
    assert config.source == path


def test_a_bad_value_names_its_key_and_the_value() -> None:
    found = problems(MINIMAL + "[sync]\nmass_removal_share = 1.5\n")
    assert found == ["sync.mass_removal_share: must be between 0 and 1, got 1.5"]


def test_every_problem_is_reported_at_once() -> None:
    text = """
[paths]
inbox = 3
[hemnet]
burst = 0
read_timout_s = 10
[sync]
failed_image_policy = "ignore"
publish = "yes"
[watch]
ignore = "*.tmp"
[http]
listen = "localhost"
[[formats]]
pattern = "*.xml"
export_mode = "sometimes"
[extra]
"""
    found = problems(text)
    expected_keys = [
        "paths.inbox:",
        "paths.state_dir: required",
        "hemnet.burst: must be at least 1",
        "hemnet.read_timout_s: unknown key (did you mean 'read_timeout_s'?)",
        "sync.failed_image_policy: must be one of",
        "sync.publish: must be true or false",
        "watch.ignore: must be an array of strings",
        "http.listen:",
        "formats[0].mapping: required",
        "formats[0].export_mode: must be one of",
        "extra: unknown section",
    ]
    for key in expected_keys:
        assert any(p.startswith(key) for p in found), (key, found)
    assert len(found) == len(expected_keys)


def test_booleans_are_not_numbers_and_numbers_not_booleans() -> None:
    found = problems(MINIMAL + "[sync]\nmass_removal_min = true\nauto_approve = 1\n")
    assert found == [
        "sync.mass_removal_min: must be an integer, got boolean True",
        "sync.auto_approve: must be true or false, got integer 1",
    ]


def test_poll_intervals_must_be_ordered() -> None:
    found = problems(MINIMAL + "[sync]\npoll_interval_fast_s = 600\n")
    assert found[0].startswith("sync.poll_interval_fast_s: must not exceed")


@pytest.mark.parametrize(
    ("section", "key", "env"),
    [
        ("hemnet", "token", "SYNCD_HEMNET_TOKEN"),
        ("http", "webhook_secrets", "SYNCD_WEBHOOK_SECRETS"),
        ("http", "token", "SYNCD_HTTP_TOKEN"),
    ],
)
def test_a_secret_in_the_toml_is_an_error_saying_where_it_belongs(
    section: str, key: str, env: str
) -> None:
    found = problems(MINIMAL + f'[{section}]\n{key} = "s3cret"\n')
    assert len(found) == 1
    assert found[0].startswith(f"{section}.{key}: secrets do not belong in the config file")
    assert env in found[0] and "CREDENTIALS_DIRECTORY" in found[0]
    assert "s3cret" not in found[0]


def test_agency_needs_key_and_name_when_given() -> None:
    found = problems(MINIMAL + '[agency]\norganisation_number = "556677-8899"\n')
    assert found == ["agency.key: required, not set", "agency.name: required, not set"]
    config = parse(MINIMAL + '[agency]\nkey = "a1"\nname = " Mäklarna AB "\n')
    assert config.agency is not None and config.agency.name == "Mäklarna AB"


def test_agencies_name_agencies_by_key_and_every_mistake_is_listed() -> None:
    config = parse(
        MINIMAL
        + '[agency]\nkey = "a1"\nname = "Ett AB"\n'
        + '[agencies.b2]\nname = "Två AB"\norganisation_number = "556000-0002"\n'
    )
    b2 = config.agency_named("b2")
    assert b2 is not None and (b2.name, b2.organisation_number) == ("Två AB", "556000-0002")
    a1 = config.agency_named("a1")
    assert a1 is not None and a1.name == "Ett AB"
    assert config.agency_named("c3") is None
    found = problems(
        MINIMAL + '[agencies.b2]\norganisation_number = "1"\n[agencies.c3]\nname = "C"\nnme = 1\n'
    )
    assert found[0] == "agencies.b2.name: required, not set"
    assert found[1].startswith("agencies.c3.nme: unknown key (did you mean 'name'?)")


def test_formats_resolve_mapping_names_and_paths_and_first_match_wins() -> None:
    config = parse(
        MINIMAL
        + '[[formats]]\npattern = "vitec_*.xml"\nmapping = "own/vitec.toml"\n'
        + 'export_mode = "incremental"\n'
        + '[[formats]]\npattern = "*.xml"\nmapping = "openimmo"\n'
    )
    first, second = config.formats
    assert first.mapping_path == BASE / "own" / "vitec.toml"
    assert second.mapping_path == bundled_mappings_dir() / "openimmo.toml"
    assert config.format_for("vitec_2026.xml") is first
    assert config.format_for("other.xml") is second
    assert config.format_for("other.csv") is None


def test_mapping_names_follow_a_configured_mappings_dir() -> None:
    text = MINIMAL + 'mappings_dir = "maps"\n[[formats]]\npattern = "*"\nmapping = "crm"\n'
    assert parse(text).formats[0].mapping_path == BASE / "maps" / "crm.toml"


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[paths\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


# --- secrets -------------------------------------------------------------------------------


def with_state(tmp_path: Path, extra: str = "") -> Config:
    return parse(MINIMAL + extra, tmp_path)


def test_no_token_names_all_three_sources(tmp_path: Path) -> None:
    config = with_state(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_token(config, environ={})
    message = str(caught.value)
    assert "SYNCD_HEMNET_TOKEN" in message
    assert "hemnet.token_file" in message
    assert "$CREDENTIALS_DIRECTORY/hemnet-token" in message


def test_token_sources_in_order_of_precedence(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n", encoding="utf-8")
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "hemnet-token").write_text("from-credential", encoding="utf-8")
    config = with_state(tmp_path, "[hemnet]\ntoken_file = 'token'\n")
    env = {"SYNCD_HEMNET_TOKEN": "from-env", "CREDENTIALS_DIRECTORY": str(credentials)}

    assert load_token(config, {"CREDENTIALS_DIRECTORY": str(credentials)}) == "from-file"
    assert load_token(config, env) == "from-env"
    store_renewed_token(config, "renewed")
    assert load_token(config, env) == "renewed"
    found = find_token(config, env)
    assert found is not None and found[1].startswith("renewed token")
    without_file = with_state(tmp_path)
    (tmp_path / "state" / "hemnet-token").unlink()
    assert load_token(without_file, {"CREDENTIALS_DIRECTORY": str(credentials)}) == (
        "from-credential"
    )


def test_renewed_token_is_private_to_syncd(tmp_path: Path) -> None:
    path = store_renewed_token(with_state(tmp_path), "abc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8") == "abc\n"


def test_webhook_secrets_from_env_then_file(tmp_path: Path) -> None:
    (tmp_path / "secrets").write_text("one\ntwo\n", encoding="utf-8")
    config = with_state(tmp_path, "[http]\nwebhook_secrets_file = 'secrets'\n")
    assert load_webhook_secrets(config, {"SYNCD_WEBHOOK_SECRETS": " old , new ,"}) == (
        "old",
        "new",
    )
    assert load_webhook_secrets(config, {}) == ("one", "two")
    assert load_webhook_secrets(with_state(tmp_path), {}) == ()


@pytest.mark.parametrize("folder", ["archive", "rejected"])
def test_archive_or_rejected_being_the_inbox_is_refused(folder: str) -> None:
    found = problems(MINIMAL + f'{folder} = "in"\n')
    assert found == [
        f"paths.{folder}: must not be the inbox ({BASE / 'in'}): its files would be taken again"
    ]


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "192.168.1.20", "syncd.example"])
def test_a_non_loopback_listen_needs_allow_remote(host: str) -> None:
    found = problems(MINIMAL + f'[http]\nlisten = "{host}:8081"\n')
    assert len(found) == 1
    assert found[0].startswith(f"http.listen: {host} is not a loopback address")
    assert "allow_remote" in found[0] and "SYNCD_HTTP_TOKEN" in found[0]
    config = parse(MINIMAL + f'[http]\nlisten = "{host}:8081"\nallow_remote = true\n')
    assert config.http.allow_remote


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_a_loopback_listen_needs_nothing_more(host: str) -> None:
    config = parse(MINIMAL + f'[http]\nlisten = "{host}:8081"\n')
    assert http_access_problems(config, {}) == []


def test_a_remote_listen_is_refused_until_an_access_token_is_set(tmp_path: Path) -> None:
    remote = '[http]\nlisten = "0.0.0.0:8081"\nallow_remote = true\n'
    config = with_state(tmp_path, remote)
    (refused,) = http_access_problems(config, {})
    assert "no access token" in refused and "SYNCD_HTTP_TOKEN" in refused
    assert http_access_problems(config, {"SYNCD_HTTP_TOKEN": "t0ken"}) == []
    (tmp_path / "http-token").write_text("from-file\n", encoding="utf-8")
    with_file = with_state(tmp_path, remote + "token_file = 'http-token'\n")
    assert load_http_token(with_file, {}) == "from-file"
    assert http_access_problems(with_file, {}) == []
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "http-token").write_text("from-credential", encoding="utf-8")
    assert load_http_token(config, {"CREDENTIALS_DIRECTORY": str(credentials)}) == (
        "from-credential"
    )
