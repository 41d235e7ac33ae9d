"""Export formats: mapping files, XML/CSV/BLM readers, and the ``check`` report.

The only package that imports lxml and csv. It turns files into parsed listings and
problems; it never stores anything, moves files or talks to Hemnet.
"""

from syncd.formats.check import CheckReport, check_report
from syncd.formats.mapping import Mapping
from syncd.formats.mapping_file import bundled_mappings, load_mapping
from syncd.formats.parse import ParseResult, RecordResult, parse_file

__all__ = [
    "CheckReport",
    "Mapping",
    "ParseResult",
    "RecordResult",
    "bundled_mappings",
    "check_report",
    "load_mapping",
    "parse_file",
]
