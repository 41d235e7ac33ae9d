"""The wiring: key keeper, Hemnet client, applier and poller built from one configuration,
the same way for the daemon and for every command that talks to Hemnet.

Builds only; runs nothing and decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from syncd.config import Config
from syncd.hemnet import HemnetClient
from syncd.hemnet.budget import TokenBucket
from syncd.store.engine import Store
from syncd.usecases.api_key import KeyKeeper, hemnet_client
from syncd.usecases.apply import DEFAULT_MAX_PASS_S, Applier, api_observer
from syncd.usecases.poll import Poller


@dataclass
class Services:
    """Everything built from one configuration; the daemon replaces it as a whole on reload."""

    config: Config
    keys: KeyKeeper
    client: HemnetClient
    applier: Applier
    poller: Poller
    # The one request budget: the applier's and the poller's, and reconcile's (``spend``).
    budget: TokenBucket

    def spend(self) -> None:
        """Take one request from the budget, waiting for it (reconcile's calls)."""
        self.budget.take()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def build_services(
    config: Config,
    store: Store,
    *,
    progress: Callable[[int, int], None] | None = None,
    max_pass_s: float | None = DEFAULT_MAX_PASS_S,
    budget: TokenBucket | None = None,
    may_send: Callable[[], bool] | None = None,
) -> Services:
    """The services on ``store``. ``progress`` and ``max_pass_s`` are the applier's (a
    command runs one whole pass, however long; the daemon's shared worker bounds it);
    ``budget``: a fleet's instance brings its share of the fleet's, and ``may_send`` stops
    its calls when its leases are not fresh (runtime/fleet.py)."""
    keys = KeyKeeper(config, store)
    # The client renews the key on a 401 and retries once (keys.hemnet_client); the
    # applier need not. Every request is observed for the metrics.
    client = hemnet_client(config, keys, observer=api_observer, may_send=may_send)
    # One request budget for every call, reads and writes alike, as Hemnet counts them.
    if budget is None:
        budget = TokenBucket(config.hemnet.requests_per_second, config.hemnet.burst)
    applier = Applier(
        store, client, config, budget=budget, progress=progress, max_pass_s=max_pass_s
    )
    poller = Poller(store, client, config, budget=budget)
    return Services(config, keys, client, applier, poller, budget)
