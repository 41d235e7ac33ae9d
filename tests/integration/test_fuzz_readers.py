"""Fuzzing the XML, CSV and BLM readers through ``parse_file`` with Hypothesis.

Arbitrary bytes and structured mutations of the valid fixtures (truncation, flipped bytes,
inserted quotes/delimiters/newlines/markup, another encoding declaration or BOM) must give
records and problems or an ``ExportError`` with a message: never another exception, never
a hang. Writes each case to a real file because the readers stream from paths.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.errors import ExportError
from syncd.formats import Mapping, load_mapping, parse_file
from tests.reference.snapshot import snapshot

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"
# SYNCD_FUZZ_EXAMPLES=20000 for a long hunt; the default keeps the suite fast.
EXAMPLES = int(os.environ.get("SYNCD_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
pytestmark = pytest.mark.timeout(60)  # a reader that loops on some input fails, not hangs


@dataclass(frozen=True)
class Format:
    fixture: str
    mapping: Mapping
    suffix: str


FORMATS = {
    "openimmo": Format("openimmo-small.xml", load_mapping("openimmo"), ".xml"),
    "kyero": Format("kyero-small.xml", load_mapping("kyero"), ".xml"),
    "generic-csv": Format("generic.csv", load_mapping("generic-csv"), ".csv"),
    "rightmove-blm": Format("small.blm", load_mapping("rightmove-blm"), ".blm"),
}


@dataclass
class Outcome:
    records: int
    rejected: int
    error: ExportError | None


def read(path: Path, mapping: Mapping) -> Outcome:
    """What ingest does with a file: parse it and consume every record, or an ExportError."""
    try:
        result = parse_file(path, mapping)
        whole, rejected = snapshot(result)
    except ExportError as exc:
        assert str(exc).strip(), "an export error must say why"
        return Outcome(0, 0, exc)
    for record in rejected:
        assert record.errors or record.listing is None
        for problem in record.problems:
            assert problem.reason
    assert result.record_count >= len(whole.listings) + 0
    return Outcome(len(whole.listings), len(rejected), None)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz")


def write(workdir: Path, data: bytes, suffix: str) -> Path:
    path = workdir / f"export{suffix}"
    path.write_bytes(data)
    return path


def test_the_fixtures_themselves_read_cleanly(workdir: Path) -> None:
    for fmt in FORMATS.values():
        data = (FIXTURES / fmt.fixture).read_bytes()
        outcome = read(write(workdir, data, fmt.suffix), fmt.mapping)
        assert outcome.error is None
        assert outcome.records >= 1


# --- arbitrary bytes ---------------------------------------------------------------------------


@FUZZ
@given(name=st.sampled_from(sorted(FORMATS)), data=st.binary(max_size=3000))
def test_arbitrary_bytes_give_records_or_an_export_error(
    workdir: Path, name: str, data: bytes
) -> None:
    fmt = FORMATS[name]
    read(write(workdir, data, fmt.suffix), fmt.mapping)


# --- structured mutations of the valid fixtures ----------------------------------------------

INSERTS = [
    b'"', b"'", b";", b",", b"\t", b"|", b"\n", b"\r", b"\r\n", b"\x00", b"<", b">", b"&",
    b"]]>", b"<!--", b"<x>", b"</immobilie>", b"&amp;", b"&#0;", b"&unknown;", b"\xff\xfe",
    b"\xc3", b"\xe2\x80", b'""";', b"^", b"~", b"#END#", b"#DATA#",
]  # fmt: skip
ENCODINGS = [
    b"utf-8", b"UTF-16", b"utf-32", b"latin-1", b"ISO-8859-1", b"windows-1252", b"cp1252",
    b"ascii", b"ebcdic", b"nonsense", b"", b"utf-8\x00", b"UTF-7", b"koi8-r", b"shift_jis",
]  # fmt: skip
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """The fixture with one to five small damages, each at a drawn position."""
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + draw(st.sampled_from(INSERTS)) * draw(st.integers(1, 3)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 20)) :]
        else:
            end = at + draw(st.integers(1, 200))
            data = data[:end] + data[at:end] + data[end:]
    return data


@st.composite
def reencoded(draw: st.DrawFn, data: bytes) -> bytes:
    """Another encoding declaration or BOM, with the bytes left as they were (or not)."""
    declared = draw(st.sampled_from(ENCODINGS))
    if b'encoding="' in data[:100]:
        data = data.replace(b'encoding="utf-8"', b'encoding="' + declared + b'"', 1)
        data = data.replace(b'encoding="UTF-8"', b'encoding="' + declared + b'"', 1)
    bom = draw(st.sampled_from(BOMS))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if draw(st.booleans()):
        target = draw(st.sampled_from(["utf-16", "latin-1", "cp1252", "utf-32"]))
        with contextlib.suppress(UnicodeDecodeError, UnicodeEncodeError):
            data = data.decode("utf-8").encode(target)
    return bom + data


@FUZZ
@given(name=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_damaged_fixtures_give_records_or_an_export_error(
    workdir: Path, name: str, data: st.DataObject
) -> None:
    fmt = FORMATS[name]
    damaged = data.draw(mutated((FIXTURES / fmt.fixture).read_bytes()))
    read(write(workdir, damaged, fmt.suffix), fmt.mapping)


@FUZZ
@given(name=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_other_encodings_give_records_or_an_export_error(
    workdir: Path, name: str, data: st.DataObject
) -> None:
    fmt = FORMATS[name]
    changed = data.draw(reencoded((FIXTURES / fmt.fixture).read_bytes()))
    read(write(workdir, changed, fmt.suffix), fmt.mapping)


@FUZZ
@given(
    cells=st.lists(st.lists(st.text(max_size=25), min_size=1, max_size=8), min_size=1, max_size=6),
    delimiter=st.sampled_from([";", ",", "\t", "|"]),
)
def test_csv_rows_of_any_text_under_the_real_header(
    workdir: Path, cells: list[list[str]], delimiter: str
) -> None:
    # The real header keeps the reader past its column check, so the cells reach the
    # assembler: quotes, delimiters and newlines inside cells, ragged rows.
    header = (FIXTURES / "generic.csv").read_text("utf-8-sig").splitlines()[0]
    header = header.replace(";", delimiter)
    rows = [delimiter.join(row) for row in cells]
    body = "\n".join([header, *rows]) + "\n"
    read(
        write(workdir, body.encode("utf-8", "surrogatepass"), ".csv"),
        FORMATS["generic-csv"].mapping,
    )


def test_regression_a_blm_byte_cp1252_leaves_undefined_is_a_parse_error(workdir: Path) -> None:
    # 0x80 makes the detector pick cp1252, which has no character for 0x81.
    data = (FIXTURES / "small.blm").read_bytes().replace(b"Harefield", b"Hare\x80\x81field", 1)
    outcome = read(write(workdir, data, ".blm"), FORMATS["rightmove-blm"].mapping)
    assert outcome.error is not None
    assert "cp1252" in str(outcome.error)
