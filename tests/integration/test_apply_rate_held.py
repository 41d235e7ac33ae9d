"""Every request to Hemnet goes out right after its token is taken: a create answered by
the pass's list of Hemnet's listings holds no token while that list is read (by itself or
by another create), or its POST follows the list at once, beside the other waiting creates'
POSTs, and a bucket as small as Hemnet's burst answers 429."""

from __future__ import annotations

from pathlib import Path

from syncd.sandbox.testing import serve_sandbox
from tests.integration.apply_env import a_listing, apply_env, save

RATE, BURST = 4.0, 2  # Hemnet's burst as small as a budget's headroom leaves one token


def test_creates_answered_by_the_list_stay_within_a_small_burst(tmp_path: Path) -> None:
    hemnet = {"requests_per_second": RATE, "burst": BURST, "max_concurrency": 4}
    with (
        serve_sandbox(rate_per_s=RATE, burst=BURST) as sandbox,
        apply_env(sandbox, tmp_path, hemnet=hemnet) as env,
    ):
        keys = [f"H{n}" for n in range(6)]
        save(env.store, *(a_listing(key, images=0) for key in keys))
        sandbox.reset_stats()

        report = env.applier().run_pass()

        requests = env.requests()
        refused = {k: n for k, n in requests.items() if k.endswith(" 429")}
        assert refused == {}, requests
        assert report.ops_succeeded == 1 + len(keys), report
        assert requests.get("GET /v1/listings 200") == 1  # the creates' lookups: one list
        assert requests.get("POST /v1/listings 201") == len(keys)
