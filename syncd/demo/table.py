"""The demo's compact status table: status rows in, lines of text out.

Pure formatting: never reads the store, the clock or the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from syncd.core.stages import Stage
from syncd.status import StatusRow

ADDRESS_WIDTH = 34
_HEAD = ("listing", "agency", "address", "stage", "images", "hemnet", "")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(
    rows: Sequence[StatusRow], expected: Mapping[str, Stage] | None = None
) -> list[str]:
    """One line per listing; with ``expected``, a mark says whether it reached its stage."""
    cells: list[tuple[str, ...]] = []
    for row in sorted(rows, key=lambda r: r.listing_key):
        want = expected.get(row.listing_key) if expected else None
        mark = "" if want is None else ("ok" if row.stage is want else f"→ {want.value}")
        images = f"{row.images_completed}/{row.images_total}"
        if row.images_failed:
            images += f" ({row.images_failed} failed)"
        cells.append(
            (
                row.listing_key,
                row.agency,
                _cut(row.address, ADDRESS_WIDTH),
                row.stage.value,
                images,
                row.hemnet_id or "-",
                mark,
            )
        )
    widths = [max(len(c[i]) for c in (_HEAD, *cells)) for i in range(len(_HEAD))]

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(_HEAD), line(tuple("-" * w for w in widths)), *(line(c) for c in cells)]


def stage_counts(rows: Sequence[StatusRow]) -> str:
    """``visible 18, sold 1, withdrawn 1`` in lifecycle order."""
    counts = {stage: 0 for stage in Stage}
    for row in rows:
        counts[row.stage] += 1
    parts = [f"{stage.value} {n}" for stage, n in counts.items() if n]
    return ", ".join(parts) if parts else "no listings yet"
