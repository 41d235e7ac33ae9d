"""Turn one raw export value (text) into a typed value: numbers, dates, booleans, URLs, HTML.

Pure functions over strings; each raises ``ValueError`` with a reason an operator can act on.
No knowledge of mappings, files or listings.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urljoin, urlsplit

# Blanks that CRMs use as thousands separators: space, no-break space, thin spaces, apostrophe.
_GROUPING = re.compile(r"[\s\u00a0\u2007\u202f']")
_NUMBER = re.compile(r"[-+]?[\d.,\s\u00a0\u2007\u202f']*\d[\d.,\s\u00a0\u2007\u202f']*")
# No price, area or year has more digits; longer runs would also overflow the decimal
# context when rounded (InvalidOperation instead of the documented ValueError).
MAX_DIGITS = 18
# Digits, one decimal sign, digits: the rules below make the sign a decimal one unless three
# digits follow it (then it may group thousands) or the mapping names the other sign.
_PLAIN_FRACTION = re.compile(r"\d+([.,])(\d+)")


def parse_decimal(raw: str, decimal_separator: str | None = None) -> Decimal:
    """A number written the Swedish, European or English way.

    Units and currency around the number are ignored ("3 495 000 kr", "72,5 m²").
    ``decimal_separator`` forces "," or "."; without it the ambiguity rule is:

    * blanks and apostrophes group thousands;
    * both "," and "." present: the one written last is the decimal separator;
    * one kind present more than once: it groups thousands ("1.234.567");
    * one kind present once and followed by exactly three digits: it groups thousands
      ("159,950" is 159950, "1.500" is 1500); otherwise it is the decimal separator
      ("72,5", "299000.50").
    """
    if len(raw) <= MAX_DIGITS and raw.isascii():
        # The commonest values, "2500", "72.5", "72,5", read as the rules below read them.
        if raw.isdigit():
            return Decimal(raw)
        plain = _PLAIN_FRACTION.fullmatch(raw)
        if plain and (
            decimal_separator == plain.group(1)
            if decimal_separator in (",", ".")
            else len(plain.group(2)) != 3
        ):
            return Decimal(raw.replace(",", "."))
    found = _NUMBER.search(raw.replace("\u2212", "-"))
    if not found:
        raise ValueError(f"no number in {raw!r}")
    text = _with_decimal_point(_GROUPING.sub("", found.group(0)), decimal_separator)
    if text.count(".") > 1:
        raise ValueError(f"cannot read {raw!r} as a number")
    if len(text) > MAX_DIGITS and sum(ch.isdigit() for ch in text) > MAX_DIGITS:
        raise ValueError(f"{raw[:40]!r} has more than {MAX_DIGITS} digits; not a plausible number")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"cannot read {raw!r} as a number") from None


def _with_decimal_point(text: str, decimal_separator: str | None) -> str:
    """A number's text (blanks gone) with its thousands signs dropped and its decimal sign
    written ".", by the rules of ``parse_decimal``."""
    if decimal_separator in (",", "."):
        thousands = "." if decimal_separator == "," else ","
        return text.replace(thousands, "").replace(decimal_separator, ".")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        return text.replace(thousands, "").replace(decimal, ".")
    sep = "," if "," in text else "." if "." in text else None
    if sep is None:
        return text
    head, _, tail = text.rpartition(sep)
    if text.count(sep) > 1 or (len(tail) == 3 and head.lstrip("-+").isdigit()):
        return text.replace(sep, "")
    return text.replace(sep, ".")


def parse_coordinate(raw: str) -> float:
    """A latitude or longitude: one "," or "." is always the decimal separator."""
    text = raw.strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"cannot read {raw!r} as a coordinate") from None


def parse_int(raw: str, decimal_separator: str | None = None) -> int:
    """Whole number (SEK amounts, years, floors); a fraction is rounded half up."""
    if len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdigit():
        return int(raw)  # the commonest value: parse_decimal would give the same
    value = parse_decimal(raw, decimal_separator)
    return int(value.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


_TRUE = frozenset({"ja", "j", "yes", "y", "true", "t", "1", "x", "sant"})
_FALSE = frozenset({"nej", "n", "no", "false", "f", "0", "falskt"})


def parse_bool(raw: str) -> bool:
    """ja/nej, J/N, yes/no, true/false, 1/0 (any case)."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not a yes/no value (ja/nej, J/N, true/false, 1/0)")


DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M",
)


def parse_datetime(raw: str, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> datetime:
    """The first format that reads the whole value wins; ISO 8601 is always tried last."""
    text = raw.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)  # local time as the CRM wrote it
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        shown = ", ".join(formats)
        raise ValueError(f"{raw!r} matches none of the date formats ({shown})") from None


def parse_date(raw: str, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> date:
    return parse_datetime(raw, formats).date()


_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h\d)\s*/?\s*>", re.IGNORECASE)


def strip_html(raw: str) -> str:
    """Plain text from the small HTML some CRMs put in descriptions (<br>, <p>, <b>)."""
    text = _BREAK.sub("\n", raw)
    return html.unescape(_TAG.sub("", text))


# What quote() below leaves alone (its safe set, letters, digits, "_.-~"), ASCII only:
# a URL made of nothing else needs no quoting, which is nearly every URL.
_URL_UNCHANGED = re.compile(r"[A-Za-z0-9_.\-~:/?#\[\]@!$&'()*+,;=%]*")


def image_url(raw: str, base_url: str | None) -> tuple[str, list[str]]:
    """An absolute, valid image URL and the warnings about what had to be repaired.

    Relative paths are resolved against ``base_url``; spaces and other characters a URL
    cannot hold are percent-encoded (real feeds write "uploads/01 fachada.jpg").
    """
    warnings: list[str] = []
    url = raw.strip()
    # Encoded before the scheme is judged: urlsplit drops tabs and line breaks, so "a\t:"
    # would pass for a URL with the scheme "a" and never be resolved against base_url.
    safe = url if _URL_UNCHANGED.fullmatch(url) else quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    if safe != url:
        warnings.append("image URL had spaces or unsafe characters; they were percent-encoded")
    if base_url and not urlsplit(safe).scheme:
        safe = urljoin(base_url, safe)
    return safe, warnings
