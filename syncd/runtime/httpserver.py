"""The daemon's small HTTP endpoints: status page, /healthz, /metrics and POST /webhook.

Only reads the store (the daemon's single writer does every write) and never calls
Hemnet itself: a verified webhook only schedules ``poll_listing``. Never logs a webhook
body, a secret or a header.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from syncd import metrics
from syncd.config import Config, load_http_token, load_webhook_secrets
from syncd.core.clock import utc_now
from syncd.core.stages import Stage
from syncd.runtime import webhook
from syncd.status import StatusRow, detail_record, listing_detail
from syncd.status.view import FullView, StatusView
from syncd.store.engine import Store
from syncd.store.listings import get_listing, get_listing_by_hemnet_id

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024  # Hemnet's events are a few hundred bytes

# Listings that need the operator come first on the status page.
ATTENTION_ORDER: tuple[Stage, ...] = (
    Stage.CONFLICT,
    Stage.FAILED,
    Stage.IMAGE_FAILED,
    Stage.WAITING_FOR_DATA,
    Stage.MISSING,
    Stage.AWAITING_APPROVAL,
    Stage.NEW,
    Stage.CREATING,
    Stage.IMAGES_PROCESSING,
    Stage.READY_TO_PUBLISH,
    Stage.VISIBLE,
    Stage.SOLD,
    Stage.UNPUBLISHED,
    Stage.WITHDRAWN,
)
# The colour family of each stage on the page (CSS classes tone-*).
STAGE_TONE: dict[Stage, str] = {
    Stage.CONFLICT: "bad",
    Stage.FAILED: "bad",
    Stage.IMAGE_FAILED: "bad",
    Stage.WAITING_FOR_DATA: "warn",
    Stage.MISSING: "warn",
    Stage.AWAITING_APPROVAL: "wait",
    Stage.NEW: "busy",
    Stage.CREATING: "busy",
    Stage.IMAGES_PROCESSING: "busy",
    Stage.READY_TO_PUBLISH: "busy",
    Stage.VISIBLE: "good",
    Stage.SOLD: "done",
    Stage.UNPUBLISHED: "done",
    Stage.WITHDRAWN: "done",
}


@dataclass(frozen=True)
class HealthInfo:
    """What the daemon reports about itself for /healthz."""

    ready: bool
    last_successful_sync_at: datetime | None = None
    detail: str | None = None  # one line on why it is not ready (never a secret)
    # Several daemons on one store: this instance, and which instance holds which agencies.
    instance: str | None = None
    fleet: dict[str, Any] | None = None


def duration_text(seconds: float | None) -> str:
    """A short human duration: '45 s', '12 min', '3 h 20 min', '2 d 4 h'."""
    if seconds is None:
        return ""
    total = int(max(seconds, 0))
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(at: datetime | None, now: datetime) -> str:
    """'3 h 20 min ago' for the page's timestamps."""
    return "" if at is None else duration_text((now - at) / timedelta(seconds=1)) + " ago"


def search_text(row: StatusRow) -> str:
    """What the page's text filter matches against (lower case)."""
    held = "held" if row.held else None
    parts = (row.listing_key, row.address, row.agency, row.hemnet_id, row.last_error, held)
    return " ".join(p for p in parts if p).lower()


def row_matches(row: StatusRow, stage: str, text: str) -> bool:
    """The page's filter, server side: the same rule the page's script applies."""
    wanted = text.strip().lower()
    return (not stage or row.stage.value == stage) and (not wanted or wanted in search_text(row))


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("syncd", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration_text
    env.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else ""
    env.globals["ago"] = ago
    env.globals["search_text"] = search_text
    env.globals["row_matches"] = row_matches
    env.globals["tone"] = lambda stage: STAGE_TONE.get(Stage(stage), "busy")
    return env


def _health_record(info: HealthInfo, now: datetime) -> dict[str, Any]:
    last = info.last_successful_sync_at
    return {
        "ready": info.ready,
        "last_successful_sync_at": last.isoformat() if last else None,
        "last_successful_sync_age_s": round((now - last).total_seconds(), 3) if last else None,
        "detail": info.detail,
        **({} if info.instance is None else {"instance": info.instance, "fleet": info.fleet}),
    }


Endpoint = Callable[[Request], Response]


def _presented_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer TOKEN``, or the password of Basic auth (what a
    browser sends after the 401's challenge; the user name is ignored)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _guarded(endpoint: Endpoint, token: str | None) -> Endpoint:
    """``endpoint`` answering 401 unless the request carries ``token`` (when one is set).

    /healthz and /webhook are not guarded: probes carry no token and Hemnet signs instead.
    """
    if token is None:
        return endpoint
    expected = token.encode("utf-8")

    def guarded(request: Request) -> Response:
        presented = _presented_token(request)
        if presented is None or not hmac.compare_digest(presented.encode("utf-8"), expected):
            return JSONResponse(
                {"error": "an access token is required (http token)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="syncd", charset="UTF-8"'},
            )
        return endpoint(request)

    return guarded


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create_http_app(
    store: Store | Callable[[], Store],
    config: Config,
    *,
    poll_listing: Callable[[str], None] | None = None,
    health: Callable[[], HealthInfo],
    clock: Callable[[], datetime] = utc_now,
    status_view: StatusView | None = None,
) -> Starlette:
    """The Starlette app the daemon serves with uvicorn when ``http.listen`` is set.

    ``store`` is the open Store or a callable returning it (the daemon may reopen it);
    ``poll_listing(key)`` runs after a verified webhook was answered 202, on a worker
    thread, so it should be quick (e.g. hand the key to the scheduler). ``status_view``
    reads the rows to show (the daemon's reads its status book; by default every listing
    is read).
    """
    templates = _templates()
    secrets = tuple(s.encode("utf-8") for s in load_webhook_secrets(config))
    token = load_http_token(config)

    def current_store() -> Store:
        return store if isinstance(store, Store) else store()

    view = status_view or FullView()

    def status_page(request: Request) -> Response:
        now = clock()
        stage = request.query_params.get("stage", "")
        text = request.query_params.get("q", "")
        page = view.page(current_store(), now, ATTENTION_ORDER, stage)
        html = templates.get_template("status.html").render(
            rows=page.rows,
            complete=page.complete,
            summary=page.summary,
            total=page.total,
            stage=stage,
            text=text,
            now=now,
            health=_health_record(health(), now),
            stages=[s.value for s in ATTENTION_ORDER],
        )
        return HTMLResponse(html)

    def listing_page(request: Request) -> Response:
        key = request.path_params["key"]
        now = clock()
        detail = listing_detail(current_store(), key, now)
        if detail is None:
            html = templates.get_template("missing.html").render(key=key, now=now)
            return HTMLResponse(html, status_code=404)
        if request.query_params.get("format") == "json":
            return JSONResponse(detail_record(detail))
        html = templates.get_template("listing.html").render(detail=detail, row=detail.row, now=now)
        return HTMLResponse(html)

    def healthz(request: Request) -> Response:
        info = health()
        return JSONResponse(_health_record(info, clock()), status_code=200 if info.ready else 503)

    def metrics_endpoint(request: Request) -> Response:
        # Stage gauges and readiness from this very moment, whenever the daemon last
        # computed them.
        view.observe(current_store(), clock())
        info = health()
        metrics.READY.set(1 if info.ready else 0)
        registry = metrics.registry_for(info.instance)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def listing_key_of(hemnet_id: str | None, external_id: str | None) -> str | None:
        """Our listing_key for the event, only for a listing this store holds."""
        with current_store().read() as session:
            if external_id is not None and get_listing(session, external_id) is not None:
                return external_id
            if hemnet_id is not None:
                row = get_listing_by_hemnet_id(session, hemnet_id)
                return None if row is None else row.listing_key
        return None

    def run_poll(key: str) -> None:
        if poll_listing is None:
            return
        try:
            poll_listing(key)
        except Exception:
            # The periodic poll catches up; a webhook must never take the server down.
            log.exception("webhook: polling listing %s failed", key)

    async def webhook_endpoint(request: Request) -> Response:
        # Cheapest refusals first: headers (401), the declared length (413), then the body
        # read in chunks and dropped past the limit (413), so no sender makes this process
        # hold more than MAX_WEBHOOK_BYTES however much it sends.
        now_ms = int(clock().timestamp() * 1000)
        refused = webhook.refusal(request.headers, secrets, now_ms)
        if refused is not None:
            log.warning("webhook refused: %s", refused)
            return JSONResponse({"error": "signature does not verify"}, status_code=401)
        body = await _read_at_most(request, MAX_WEBHOOK_BYTES)
        if body is None:
            log.warning("webhook refused: body larger than %d bytes", MAX_WEBHOOK_BYTES)
            return JSONResponse({"error": "body too large"}, status_code=413)
        if not webhook.verify(body, request.headers, secrets, now_ms):
            log.warning("webhook refused: signature or timestamp does not verify")
            return JSONResponse({"error": "signature does not verify"}, status_code=401)
        payload = webhook.parse_event(body)
        if payload is None:
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        hemnet_id, external_id = webhook.event_listing(payload)
        key = await run_in_threadpool(listing_key_of, hemnet_id, external_id)
        if key is None:
            log.info("webhook: no listing here for hemnet_id=%s", hemnet_id)
            return JSONResponse({"accepted": True, "listing_key": None}, status_code=202)
        log.info("webhook: listing_key=%s hemnet_id=%s, poll scheduled", key, hemnet_id)
        return JSONResponse(
            {"accepted": True, "listing_key": key},
            status_code=202,
            background=BackgroundTask(run_poll, key),
        )

    return Starlette(
        routes=[
            Route("/", _guarded(status_page, token)),
            Route("/listing/{key:path}", _guarded(listing_page, token)),
            Route("/healthz", healthz),
            Route("/metrics", _guarded(metrics_endpoint, token)),
            Route("/webhook", webhook_endpoint, methods=["POST"]),
        ]
    )
