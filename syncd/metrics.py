"""The daemon's Prometheus metrics, in one registry; every other module only increments them.

Kept free of I/O and of syncd imports so any layer may record a figure; ``/metrics`` (the
daemon's HTTP endpoint) renders ``REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

REGISTRY = CollectorRegistry(auto_describe=True)

EXPORT_FILES = Counter(
    "syncd_export_files",
    "Export files taken from the inbox, by outcome (accepted, rejected, duplicate, held).",
    ["outcome"],
    registry=REGISTRY,
)
RECORDS = Counter(
    "syncd_export_records",
    "Records read from export files, by outcome (accepted, skipped).",
    ["outcome"],
    registry=REGISTRY,
)
OPERATIONS = Counter(
    "syncd_operations",
    "Operations applied to Hemnet, by kind and outcome (succeeded, rejected, retry, unknown).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
API_LATENCY = Histogram(
    "syncd_api_request_seconds",
    "Hemnet API request latency, by method and path template.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
API_RESPONSES = Counter(
    "syncd_api_responses",
    "Hemnet API responses by status class (2xx, 4xx, 429, 5xx, network).",
    ["status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "syncd_api_rate_limited",
    "Hemnet answers 429 Too Many Requests.",
    registry=REGISTRY,
)
LISTINGS_BY_STAGE = Gauge(
    "syncd_listings",
    "Listings by stage.",
    ["stage"],
    registry=REGISTRY,
)
DROP_TO_VISIBLE = Histogram(
    "syncd_drop_to_visible_seconds",
    "From the export file that introduced a listing to Hemnet reporting it visible.",
    buckets=(5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600),
    registry=REGISTRY,
)
OLDEST_AWAITING_APPROVAL = Gauge(
    "syncd_oldest_awaiting_approval_seconds",
    "How long the longest-waiting published listing has waited for the broker's approval.",
    registry=REGISTRY,
)
KEY_EXPIRY = Gauge(
    "syncd_hemnet_key_expiry_timestamp_seconds",
    "Unix time at which syncd's Hemnet API key expires (0 until a key check has read it).",
    registry=REGISTRY,
)
READY = Gauge(
    "syncd_ready",
    "1 while /healthz answers ready, 0 while a problem stops syncd from doing its work.",
    registry=REGISTRY,
)
PROBLEM = Gauge(
    "syncd_problem",
    "1 while the named problem lasts (key refused, store unwritable, Hemnet unreachable).",
    ["problem"],
    registry=REGISTRY,
)
PASS_PLANNED = Histogram(
    "syncd_pass_listings_planned",
    "Listings a sync pass read and planned, by kind of pass (dirty: what changed and what "
    "is due; full: every listing, the periodic safety net).",
    ["pass"],
    buckets=(0, 1, 10, 100, 1000, 10_000, 100_000),
    registry=REGISTRY,
)
LAST_SUCCESSFUL_SYNC = Gauge(
    "syncd_last_successful_sync_timestamp_seconds",
    "Unix time of the last sync pass that finished without an API failure.",
    registry=REGISTRY,
)
FLEET_AGENCIES = Gauge(
    "syncd_fleet_agencies",
    "Agencies whose lease this instance holds (several daemons on one PostgreSQL store).",
    registry=REGISTRY,
)
FLEET_INSTANCES = Gauge(
    "syncd_fleet_instances",
    "Live instances of the fleet, as this instance last counted them.",
    registry=REGISTRY,
)
FLEET_TAKEOVERS = Counter(
    "syncd_fleet_takeovers",
    "Agency leases this instance took (from another holder, a released or a new one).",
    registry=REGISTRY,
)

# The label every sample carries when several instances share one store (set by the
# fleet); not "instance", which Prometheus sets to the scraped target itself.
INSTANCE_LABEL = "syncd_instance"


class _Labelled(CollectorRegistry):
    """REGISTRY's samples, each with ``syncd_instance`` added."""

    def __init__(self, instance: str) -> None:
        super().__init__(auto_describe=False)
        self._instance = instance

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, INSTANCE_LABEL: self._instance})
                for sample in family.samples
            ]
            yield family


def registry_for(instance: str | None) -> CollectorRegistry:
    """What /metrics renders: REGISTRY, its samples labelled with the instance in a fleet."""
    return REGISTRY if instance is None else _Labelled(instance)


def observe_visible(drop_to_visible_s: float | None) -> None:
    """Observe ``DROP_TO_VISIBLE`` when a recording of Hemnet's state saw the listing
    turn visible (``store.remote.StateChange``)."""
    if drop_to_visible_s is not None:
        DROP_TO_VISIBLE.observe(drop_to_visible_s)


def status_class(status: int | None) -> str:
    """The label for API_RESPONSES: network failures have no status."""
    if status is None:
        return "network"
    if status == 429:
        return "429"
    return f"{status // 100}xx"
