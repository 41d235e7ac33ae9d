"""One log record, one line: control characters in a message are escaped, so a file name
or CRM text holding a line break cannot forge log lines.

Formats only; tracebacks keep their lines (they come from syncd's code, not from input).
"""

from __future__ import annotations

import copy
import logging
import re

# C0 and C1 controls, DEL, and Unicode's own line and paragraph separators; surrogates
# stand for undecodable bytes in a file name (os.fsdecode) and are shown as such too.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n`` -> ``\\x0a``)."""
    return _UNSAFE.sub(_escaped, text)


# A log line names its module as operators have always read it (``syncd.apply``), not by
# the folder the code sits in (``syncd.usecases.apply``): the folders are the developers'
# map, the log names are what operators grep for and alert on.
_FOLDERS = re.compile(r"^syncd\.(?:core|usecases|runtime)\.")


def shown_name(logger_name: str) -> str:
    """The logger's name as a log line shows it: ``syncd.usecases.apply`` -> ``syncd.apply``."""
    return _FOLDERS.sub("syncd.", logger_name)


class OneLineFormatter(logging.Formatter):
    """A Formatter whose message part is always one line (see ``one_line``)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # A copy: other handlers of the same record see its message unchanged.
        safe = copy.copy(record)
        safe.message = one_line(record.message)
        safe.name = shown_name(record.name)
        return super().formatMessage(safe)
