"""plain_json writes the bytes json wrote: every stored hash was made from json's text, so a
byte of difference would make every stored listing look changed and resend it."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st

from syncd.core.domain import Hashes, plain_json, to_plain
from syncd.core.domain.listing import LISTING_FIELDS
from tests.unit.test_domain_hash import full_listing, variants

_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_AS_STORED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# Plain forms: what to_plain gives (floats and Decimals are strings by then). Text over
# every code point but lone surrogates (no decoded export holds one).
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_TEXT = st.text(st.characters(exclude_categories=_SURROGATES))
_LEAVES = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _TEXT
PLAIN = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(PLAIN)
def test_the_same_bytes_as_json_sorted_and_as_stored(plain: Any) -> None:
    assert plain_json(plain, sort_keys=True) == _SORTED.encode(plain).encode("utf-8")
    assert plain_json(plain) == _AS_STORED.encode(plain).encode("utf-8")


def test_control_characters_quotes_and_line_separators_escaped_as_json_does() -> None:
    text = "".join(chr(n) for n in range(0x30)) + '"\\\u2028\u2029\x7f\ufeffÅ\U0001f600'
    assert plain_json({"b": text, "a": [text]}, sort_keys=True) == _SORTED.encode(
        {"b": text, "a": [text]}
    ).encode("utf-8")


def test_an_int_beyond_64_bits_falls_back_to_json() -> None:
    plain = {"b": 2**70, "a": -(2**70)}
    assert (
        plain_json(plain, sort_keys=True)
        == b'{"a":-1180591620717411303424,"b":' + str(2**70).encode() + b"}"
    )
    assert plain_json(plain) == _AS_STORED.encode(plain).encode("utf-8")


def test_the_hashes_of_a_listing_are_those_json_made() -> None:
    """The digest stored listings were compared with before: sha256 of json's sorted text."""

    def old(part: Any) -> str | None:
        if part is None:
            return None
        return hashlib.sha256(_SORTED.encode(part).encode("utf-8")).hexdigest()

    for listing in [full_listing(), *(variant for _name, variant in variants(full_listing()))]:
        plain = to_plain(listing)
        hashes = Hashes.of_plain(plain)
        assert hashes.images == old(plain["images"])
        assert hashes.sale == old(plain["sale"])
        assert hashes.seller == old(plain["seller"])
        assert hashes.billing == old(plain["billing"])
        assert hashes.image_right == old(plain["image_right"])
        assert hashes.content == old({name: plain[name] for name in LISTING_FIELDS})
