"""The fast paths added for ingest speed give exactly what the plain code they skip gives."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from syncd.core.domain import Address, Image, Listing, ListingStatus, clean_text, normalise
from syncd.formats import transforms, values

_SPACE = re.compile(r"\s+")
# The same characters domain/normalise.py drops (control characters from broken exports).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Blanks of every kind, combining marks (NFC changes "e" + U+0301), letters and punctuation.
TRICKY = st.text(
    alphabet=st.sampled_from(
        [" ", "\t", "\n", "\r", "\u00a0", "\u2001", "\u0301", "e", "Å", "-", "ß"]
    )
    | st.characters(),
    max_size=30,
)


def reference_clean_text(value: str | None) -> str | None:
    """clean_text without its fast path (domain/normalise.py, 2026-11: control characters
    dropped)."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    folded = "\n".join(lines).strip()
    folded = re.sub(r"\n{3,}", "\n\n", folded)
    return folded or None


@given(TRICKY)
@example("Stockholm")
@example("e\u0301")
@example(" a")
@example("a\u00a0b")
def test_clean_text_matches_the_reference(value: str) -> None:
    assert clean_text(value) == reference_clean_text(value)


@given(TRICKY)
@example("_")
@example("²")
@example("-/-")
def test_alnum_pattern_is_str_isalnum(value: str) -> None:
    assert (values.ALNUM.search(value) is not None) == any(ch.isalnum() for ch in value)


@given(st.text(max_size=40))
@example("https://img.example.se/1/2.jpg?x=1&y=[2]")
@example("https://img.example.se/a b.jpg")
@example("https://img.example.se/å.jpg")
def test_image_url_skips_quoting_only_where_quote_changes_nothing(value: str) -> None:
    url = value.strip()
    expected = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    got, warnings = transforms.image_url(value, None)
    assert got == expected
    assert bool(warnings) == (expected != url)


@given(
    st.lists(
        st.tuples(st.sampled_from(["https://x.se/a.jpg", " https://x.se/b.jpg "]), TRICKY),
        max_size=4,
    ),
    st.permutations(range(4)),
)
def test_normalise_images_match_a_full_copy(
    pairs: list[tuple[str, str]], orders: list[int]
) -> None:
    images = tuple(
        Image(url=url, caption=caption, order=orders[n]) for n, (url, caption) in enumerate(pairs)
    )
    listing = Listing("K1", "A1", ListingStatus.FOR_SALE, Address("Gata 1"), images=images)
    expected = tuple(
        Image(
            url=img.url.strip(),
            caption=reference_clean_text(img.caption)
            and _SPACE.sub(" ", reference_clean_text(img.caption) or ""),
            order=position,
        )
        for position, img in enumerate(sorted(images, key=lambda i: i.order))
    )
    assert normalise(listing).images == expected
    assert normalise(normalise(listing)) == normalise(listing)
