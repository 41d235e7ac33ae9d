"""A listing's text in status.json, laid out per value, is what json's indenting encoder
writes for it (status.json is compared byte for byte with a full write)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncd.status.files import _RECORD_INDENT, _record_json

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())


@given(st.dictionaries(st.text(), st.one_of(SCALARS, st.lists(SCALARS, max_size=2))))
def test_a_record_is_laid_out_as_the_indenting_encoder_does(record: dict[str, Any]) -> None:
    expected = json.dumps(record, ensure_ascii=False, indent=2).replace("\n", _RECORD_INDENT)
    assert _record_json(record) == expected
