"""Every knob of the local Hemnet sandbox, as one frozen value.

Plain data: parsing options is ``command.py``'s job (``settings_of`` only puts the fault
shares among flat knobs into ``faults``), using them is everyone else's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

FetchMode = Literal["real", "simulate"]

# Simulated image failures: (glob, or "re:" + regex, matched against the URL) -> stateMessage.
DEFAULT_FAIL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("*unreachable*", "Could not download the image: the host is unreachable"),
    ("*/404/*", "Could not download the image (HTTP 404)"),
    ("*not-an-image*", "The file is not an image (expected JPEG, PNG or WebP)"),
    ("*too-small*", "The image is too small: 100×80 pixels, at least 200 on each side needed"),
)


@dataclass
class Faults:
    """Fault injection for /v1 (shares are probabilities per request, 0..1): the settings
    give them at start, the running sandbox's admin endpoint changes its own copy."""

    fault_500: float = 0.0
    fault_503: float = 0.0
    fault_429: float = 0.0
    fault_drop: float = 0.0
    latency_ms: float = 0.0
    # Accept-then-drop for writes only: a lost answer to a create whose lookup (a GET)
    # went through, as syncd's lookup before every create needs to be tested.
    fault_drop_write: float = 0.0

    def as_json(self) -> dict[str, float]:
        return asdict(self)


FAULT_NAMES = frozenset(f.name for f in fields(Faults))


@dataclass(frozen=True)
class SandboxSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    # Public address used in approvalUrl/url fields; None means http://host:port.
    public_url: str | None = None
    token: str | None = None  # fixed bootstrap token; None mints a random one
    token_file: Path | None = None
    # Further accounts, each (name, token) with one key of that token (SANDBOX only).
    accounts: tuple[tuple[str, str], ...] = field(default=())
    key_lifetime_s: float = 90 * 24 * 3600.0
    rate_per_s: float = 0.0  # token bucket refill; 0 switches rate limiting off
    burst: int = 20
    image_delay_s: float = 0.5
    fetch_mode: FetchMode = "simulate"
    fail_patterns: tuple[tuple[str, str], ...] = DEFAULT_FAIL_PATTERNS
    min_image_px: int = 200
    fetch_timeout_s: float = 5.0
    auto_approve_after_s: float | None = None
    faults: Faults = field(default_factory=Faults)  # at start
    fault_seed: int | None = None
    admin_secret: str | None = None  # None: /_sandbox needs no secret
    webhook_url: str | None = None
    # One secret signs; two (old, new) give "old,new" signatures during rotation.
    webhook_secrets: tuple[str, ...] = field(default=())
    webhook_attempts: int = 4
    webhook_backoff_s: float = 0.5
    state_file: Path | None = None
    sale_undo_window_days: int = 183  # "six months" (DOC), in days (ASSUMED)
    log_level: str = "info"

    @property
    def root_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def settings_of(**knobs: Any) -> SandboxSettings:
    """Settings from flat knobs, as the command line and ``serve_sandbox`` take them: a
    fault share (``fault_500=0.2``) among them goes into ``faults``."""
    shares = {name: knobs.pop(name) for name in list(knobs) if name in FAULT_NAMES}
    return SandboxSettings(**knobs, faults=Faults(**shares))
