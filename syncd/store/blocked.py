"""Why the daemon cannot send anything now (key refused, Hemnet unreachable), kept in the
store so that 'syncd status' and 'syncd show' in another process can say so.

Written only by the daemon's health check when the reason changes; read by the status views.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from syncd.store.meta import delete_meta, get_meta, set_meta

META_SENDING_BLOCKED = "sending_blocked"


@dataclass(frozen=True)
class SendingBlocked:
    """What stops every change from reaching Hemnet, since when, and what to do."""

    reason: str
    remedy: str
    since: datetime


def sending_blocked(session: Session) -> SendingBlocked | None:
    text = get_meta(session, META_SENDING_BLOCKED)
    if not text:
        return None
    try:
        data = json.loads(text)
        return SendingBlocked(
            str(data["reason"]), str(data["remedy"]), datetime.fromisoformat(data["since"])
        )
    except (ValueError, KeyError, TypeError):
        return None  # written by another version: say nothing rather than something wrong


def set_sending_blocked(session: Session, blocked: SendingBlocked | None) -> None:
    if blocked is None:
        delete_meta(session, META_SENDING_BLOCKED)
        return
    record = {
        "reason": blocked.reason,
        "remedy": blocked.remedy,
        "since": blocked.since.isoformat(),
    }
    set_meta(session, META_SENDING_BLOCKED, json.dumps(record, ensure_ascii=False))
