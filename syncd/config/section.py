"""Reads one TOML table, collecting every problem instead of stopping at the first.

Generic: which keys a section has is the readers' business, not this module's.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from syncd.config.credentials import SECRET_KEYS

T = TypeVar("T")
_MISSING: Any = object()


def type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return names.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)


# A TOML value as one type, or None when it is another: the readers' conversions.


def _as_string(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _as_integer(v: Any) -> int | None:
    # bool is an int in Python, but `true` is not a number to an operator
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _as_number(v: Any) -> float | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    return float(v) if ok else None


def _as_boolean(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _as_strings(v: Any) -> tuple[str, ...] | None:
    if isinstance(v, list) and all(isinstance(item, str) for item in v):
        return tuple(v)
    return None


class Section:
    """Reads one TOML table, collecting problems instead of stopping at the first."""

    def __init__(
        self, data: object, name: str, problems: list[str], base_dir: Path, display: str = ""
    ) -> None:
        self.name = name
        self.display = display or name
        self.problems = problems
        self.base_dir = base_dir
        self.known: list[str] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{self.display}: must be a table, got {type_name(data)}")
            data = {}
        self.data: dict[str, Any] = data

    def key(self, key: str) -> str:
        return f"{self.display}.{key}"

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.key(key)}: {text}")

    def _get(
        self,
        key: str,
        default: T,
        convert: Callable[[Any], T | None],
        expected: str,
    ) -> T:
        self.known.append(key)
        if key not in self.data:
            if default is _MISSING:
                self.problem(key, "required, not set")
            return default
        value = self.data[key]
        converted = convert(value)
        if converted is None:
            self.problem(key, f"must be {expected}, got {type_name(value)} {value!r}")
            return default
        return converted

    def string(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default, _as_string, "a string")
        if isinstance(value, str) and key in self.data and not value.strip():
            self.problem(key, "must not be empty")
        return value

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
        allowed = tuple(choices)
        value = self.string(key, default)
        if key in self.data and isinstance(value, str) and value not in allowed:
            quoted = ", ".join(f'"{c}"' for c in allowed)
            self.problem(key, f"must be one of {quoted}, got {value!r}")
            return default
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        value = self._get(key, default, _as_integer, "an integer")
        if key in self.data and minimum is not None and isinstance(value, int) and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> Any:
        value = self._get(key, default, _as_number, "a number")
        if key not in self.data or not isinstance(value, float):
            return value
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            self.problem(key, f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        if positive and value <= 0:
            self.problem(key, f"must be more than 0, got {value:g}")
            return default
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum:g}, got {value:g}")
            return default
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, _as_boolean, "true or false")

    def strings(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, _as_strings, "an array of strings")

    def path(self, key: str, default: Any = _MISSING) -> Any:
        value = self.string(key, default)
        return self.resolve(value) if isinstance(value, str) and value.strip() else value

    def resolve(self, value: str) -> Path:
        # Relative paths mean "next to the config file", wherever syncd is started from.
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def finish(self) -> None:
        for key in self.data:
            if key in self.known:
                continue
            full = f"{self.name}.{key}"
            if full in SECRET_KEYS:
                self.problem(key, SECRET_KEYS[full])
                continue
            hint = difflib.get_close_matches(key, self.known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            known = ", ".join(sorted(self.known))
            self.problem(key, f"unknown key{suggestion}; known keys: {known}")
