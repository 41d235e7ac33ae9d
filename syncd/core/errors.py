"""Every exception syncd raises on purpose, grouped by what the caller must do next.

::

    SyncdError
    ├── ConfigError        user-fixable; lists every problem; no traceback
    ├── ExportError        one file unusable → rejected/ with reason; others continue
    │   ├── ParseError     path, line/column
    │   └── MappingError   mapping, field, record key
    ├── UnsafePlanError    a guard tripped; needs an operator's confirmation
    ├── StateError         database not at head, invariant broken
    │   ├── HoldError      no such hold, already released, or superseded: nothing to release
    │   ├── AlreadyRunningError  another syncd writes this state (names its PID)
    │   └── StorageError   the disk refuses writes (full, read-only): retried with backoff
    ├── NotFoundError      the operator named a listing or hold the state does not have
    └── ApiError           op, method, path, status, requestId, short body (never the token)
        ├── RetryableApiError   network, timeout, 429, 5xx → retry later (Retry-After)
        │   └── UnreadableAnswerError  an answer syncd cannot read; names the field
        ├── RejectedApiError    400/422, ChecksError → op failed until the listing changes
        ├── RemoteDriftError    404/409 → reconcile that listing
        ├── AuthenticationApiError  401 → renew the key, then retry once
        └── ForbiddenApiError   403 → this resource only; the key is fine, never renewed

Each class carries the data its handler needs; messages are built from that data. The CLI
and the daemon turn each class into one line naming the remedy (``remedy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SyncdError(Exception):
    """Root of syncd's own errors."""

    remedy = "see the log above for details"
    exit_code = 1


class ConfigError(SyncdError):
    """The configuration is unusable; ``problems`` names every key that is wrong."""

    remedy = "fix the configuration file and run 'syncd config check'"
    exit_code = 2

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s){where}:\n{lines}")


class ExportError(SyncdError):
    """One export file cannot be used at all; it goes to rejected/ and nothing changes."""

    remedy = "fix the export (see its .error.json in rejected/) and drop it again"
    exit_code = 4

    def __init__(self, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class ParseError(ExportError):
    """The file is not well-formed (or not safe to read): where it broke."""

    def __init__(
        self,
        reason: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.line = line
        self.column = column
        where = f" (line {line}" + (f", column {column}" if column else "") + ")" if line else ""
        super().__init__(reason + where, path)
        self.reason = reason


class MappingError(ExportError):
    """A mapping file is wrong, or a record cannot be mapped by it."""

    remedy = "fix the mapping file and run 'syncd check FILE --mapping NAME'"

    def __init__(
        self,
        reason: str,
        mapping: str | None = None,
        field: str | None = None,
        record_key: str | None = None,
    ) -> None:
        self.mapping = mapping
        self.field = field
        self.record_key = record_key
        parts = [
            p
            for p in (
                mapping and f"mapping {mapping}",
                field and f"field {field}",
                record_key and f"record {record_key}",
            )
            if p
        ]
        super().__init__(f"{reason} ({', '.join(parts)})" if parts else reason)
        self.reason = reason


class UnsafePlanError(SyncdError):
    """A removal guard tripped: the plan is held until an operator releases it."""

    remedy = "review with 'syncd hold list', then 'syncd hold release ID' if it is right"
    exit_code = 5


class StateError(SyncdError):
    """The state database cannot be used as it is."""

    remedy = "run 'syncd db upgrade'"
    exit_code = 3


class HoldError(StateError):
    """A hold cannot be released as asked: unknown, already released, or superseded."""

    remedy = "see the open holds with 'syncd hold list'"


class AlreadyRunningError(StateError):
    """Another syncd process holds the state lock: one writer per state database."""

    remedy = "stop it first, or let it do the work (a running daemon takes requests itself)"
    exit_code = 8

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class NotFoundError(SyncdError):
    """An operator named something the state does not have: a listing key, a hold id."""

    remedy = "check the name with 'syncd status' or 'syncd hold list'"
    exit_code = 2


class StorageError(StateError):
    """The disk under the state directory or the inbox refuses writes (full, read-only)."""

    remedy = (
        "free space on that disk (or remount it read-write); syncd retries by itself "
        "and nothing is lost"
    )


@dataclass(frozen=True)
class ApiContext:
    """Where an API failure happened. Never holds the token or Authorization header."""

    method: str
    path: str
    status: int | None = None
    request_id: str | None = None
    body_excerpt: str | None = None
    op: str | None = None


class ApiError(SyncdError):
    """Hemnet (or the network to it) did not do what was asked."""

    remedy = "see the listing's last error with 'syncd show KEY'"
    exit_code = 6

    def __init__(self, message: str, context: ApiContext, messages: Sequence[str] = ()) -> None:
        self.context = context
        self.messages = list(messages)  # Hemnet's own error texts, trimmed
        ctx = context
        bits = [f"{ctx.method} {ctx.path}"]
        if ctx.status is not None:
            bits.append(f"status {ctx.status}")
        if ctx.request_id:
            bits.append(f"requestId {ctx.request_id}")
        detail = "; ".join(self.messages) if self.messages else (ctx.body_excerpt or "")
        super().__init__(f"{message} ({', '.join(bits)})" + (f": {detail}" if detail else ""))


class RetryableApiError(ApiError):
    """Network error, timeout, 429 or 5xx: try again later."""

    remedy = "nothing to do: syncd retries with backoff"

    def __init__(
        self,
        message: str,
        context: ApiContext,
        messages: Sequence[str] = (),
        retry_after_s: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, context, messages)
        self.retry_after_s = retry_after_s
        # True when the request may have reached Hemnet (timeout after sending, dropped
        # connection): a create must then be settled by reading back, never re-sent blindly.
        self.outcome_unknown = outcome_unknown


class UnreadableAnswerError(RetryableApiError):
    """Hemnet answered, but not in a shape syncd can read: ``field`` says where it broke.

    Retryable because a server fix (or a passing glitch) cures it; after a write the
    outcome is unknown, so a create is settled by reading back, never sent again blindly.
    """

    remedy = (
        "Hemnet's answer does not match what syncd expects: see the field in the message "
        "and docs/troubleshooting.md; syncd retries with backoff"
    )

    def __init__(
        self,
        field: str,
        why: str,
        context: ApiContext,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(
            f"unreadable answer from Hemnet: {field}: {why}",
            context,
            outcome_unknown=outcome_unknown,
        )
        self.field = field
        self.why = why


class RejectedApiError(ApiError):
    """400/422, ChecksError, TransitionError: Hemnet refuses the data as it is."""

    remedy = "correct the listing in the CRM and export it again, then 'syncd retry KEY'"

    def __init__(
        self,
        message: str,
        context: ApiContext,
        messages: Sequence[str] = (),
        error_types: Sequence[str] = (),
        warnings: Sequence[str] = (),
    ) -> None:
        super().__init__(message, context, messages)
        self.error_types = list(error_types)
        self.warnings = list(warnings)


class RemoteDriftError(ApiError):
    """404/409: Hemnet does not have what we believed it has."""

    remedy = "nothing to do: syncd reconciles the listing"


class AuthenticationApiError(ApiError):
    """401: Hemnet does not know the key (expired, revoked, mistyped): who syncd is."""

    remedy = (
        "put a working key in SYNCD_HEMNET_TOKEN (then restart), or in hemnet.token_file or "
        "the hemnet-token credential (a running daemon takes a changed file); "
        "'syncd keys check' tells whether it works"
    )
    exit_code = 7


class ForbiddenApiError(ApiError):
    """403: the key is valid but may not touch this resource (another account's): what
    syncd may do. Renewing the key cannot help; only this resource's op fails."""

    remedy = (
        "the Hemnet account of this key does not own the resource: check that the agency "
        "and listing belong to the account the key was made for (docs/troubleshooting.md)"
    )
