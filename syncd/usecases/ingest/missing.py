"""The history line of a listing a full export left out: what will happen to it, by how
far it got towards Hemnet (store/listings/reach.py).

What the lines promise is what the planner and apply do (docs/planning.md): a listing on
Hemnet is unpublished after the removal grace if it is still published and no guard holds
the removal (one already off Hemnet stays off); nothing creates a listing that is no
longer desired (its plain intents are superseded by the next plan); a create sent and not
answered is settled by reading Hemnet back, and one Hemnet made is adopted and stays there
unpublished, as nothing plans a publish for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncd.store.listings import Reach


def missing_message(file_name: str, reach: Reach) -> str:
    head = f"missing from full export {file_name}"
    if reach is Reach.ON_HEMNET:
        return f"{head}; unpublished after the removal grace"
    if reach is Reach.CREATE_UNANSWERED:
        return (
            f"{head}; its create was sent to Hemnet and not answered: the next apply reads "
            "Hemnet back, and if Hemnet made it, it stays there unpublished; else it will "
            "not be created"
        )
    return f"{head}; not on Hemnet, so it will not be created"


def missing_messages(
    file_name: str, keys: list[str], reach: Mapping[str, Reach]
) -> list[tuple[str, str]]:
    """(listing_key, message) for each key, in their order; one text per reach."""
    texts = {r: missing_message(file_name, r) for r in Reach}
    # A key the store does not hold was never sent (ingest only names stored listings).
    return [(key, texts[reach.get(key, Reach.NEVER_SENT)]) for key in keys]
