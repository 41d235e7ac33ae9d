"""A mapping's repeated groups (images, viewings) read from one record: each member's
fields through compiled readers, numbered columns ("bild_{n}") named once per mapping.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from syncd.core.domain import Image, Problem, Viewing
from syncd.formats import transforms
from syncd.formats.field_plan import Reader, always_empty, field_reader, in_layout
from syncd.formats.mapping import (
    IMAGE_KINDS,
    VIEWING_KINDS,
    Expr,
    FieldSpec,
    GroupSpec,
    expand_repeat,
)
from syncd.formats.values import FieldValues, Record

_ABSOLUTE = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)


class _Indexed:
    """A tabular record seen through one repeat index n ("bild_{n}" -> "bild_3")."""

    __slots__ = ("cache", "n", "record")

    def __init__(self, record: Record, n: int, cache: dict[tuple[Expr, int], Expr]) -> None:
        self.record = record
        self.n = n
        self.cache = cache  # shared by all records: expanding names per row is costly

    def values(self, expr: Expr) -> list[str]:
        name = self.cache.get((expr, self.n))
        if name is None:
            name = self.cache[(expr, self.n)] = expand_repeat(expr, self.n)
        return self.record.values(name)

    def each(self, expr: str) -> Sequence[Record]:
        return []


_MemberReaders = tuple[Reader, tuple[tuple[str, Reader], ...]]  # main field's, the others'


@dataclass(frozen=True, slots=True)
class _GroupPlan:
    """A group's fields compiled: ``numbered`` has one set of readers per n when the
    columns' names can be put in once (no templates), else members go through _Indexed."""

    group: GroupSpec
    main: str
    readers: _MemberReaders
    numbered: tuple[_MemberReaders, ...]
    main_specs: tuple[FieldSpec, ...]  # of each numbered member's main field
    # member position -> the names its fields' problems carry ("images[3]", "images[3].url", ...),
    # made once per position, not for every row: a CSV row has many image members.
    names: dict[int, tuple[str, str, tuple[str, ...]]] = dataclasses.field(default_factory=dict)

    def member_names(self, kind: str, position: int) -> tuple[str, str, tuple[str, ...]]:
        """``where``, the main field's name and the other fields' names of one member."""
        found = self.names.get(position)
        if found is None:
            where = f"{kind}[{position}]"
            rest = tuple(f"{where}.{name}" for name, _read in self.readers[1])
            found = self.names[position] = (where, f"{where}.{self.main}", rest)
        return found


def _in_layout(
    readers: _MemberReaders, column: Callable[[Expr], int | None] | None
) -> _MemberReaders:
    main, rest = readers
    return in_layout(main, column), tuple((name, in_layout(read, column)) for name, read in rest)


def _numbered(spec: FieldSpec, n: int) -> FieldSpec:
    """The spec of member n of a repeated group: "bild_{n}" -> "bild_3" in its expressions."""
    return dataclasses.replace(
        spec,
        expr=None if spec.expr is None else expand_repeat(spec.expr, n),
        concat=tuple(expand_repeat(e, n) for e in spec.concat),
        first_of=tuple(expand_repeat(e, n) for e in spec.first_of),
    )


class Groups:
    """The image and viewing groups of one mapping, their fields compiled once, and which
    numbered members the current layout leaves always empty."""

    def __init__(self, values: FieldValues) -> None:
        mapping = values.mapping
        self._values = values
        self._base_url = mapping.base_url
        self._names: dict[tuple[Expr, int], Expr] = {}
        self._image_groups = [self._group_plan(g, IMAGE_KINDS) for g in mapping.images]
        self._viewing_groups = [self._group_plan(g, VIEWING_KINDS) for g in mapping.viewings]
        # Of each numbered plan (by id), the members the layout can fill, with their n: a
        # row of three pictures then costs three members, not fifty (none: every member).
        self._live: dict[int, tuple[tuple[int, _MemberReaders], ...]] = {}

    def settle(
        self,
        absent: Callable[[Expr], bool] | None,
        column: Callable[[Expr], int | None] | None = None,
    ) -> None:
        """Find the numbered members whose columns a layout lacks (``absent``), once per
        layout, their readers reading cells by position (``column``); None: records that do
        not know their columns."""
        if absent is None:
            self._live = {}
            return
        self._live = {
            id(plan): tuple(
                (n, _in_layout(readers, column))
                for n, (readers, spec) in enumerate(
                    zip(plan.numbered, plan.main_specs, strict=True)
                )
                if not always_empty(readers[0], plan.main, spec, absent)
            )
            for plan in (*self._image_groups, *self._viewing_groups)
        }

    def _group_plan(self, group: GroupSpec, kinds: dict[str, str]) -> _GroupPlan:
        main = "url" if "url" in kinds else "starts_at"

        def readers(fields: MappingABC[str, FieldSpec]) -> _MemberReaders:
            compiled = {
                name: field_reader(self._values, name, kinds[name], spec)
                for name, spec in fields.items()
            }
            rest = tuple((name, read) for name, read in compiled.items() if name != main)
            return compiled[main], rest

        if group.each is not None or any(spec.template for spec in group.fields.values()):
            return _GroupPlan(group, main, readers(group.fields), (), ())
        # Columns "bild_{n}": the names of every n put in once, not looked up per row.
        specs = [
            {name: _numbered(spec, n) for name, spec in group.fields.items()}
            for n in range(group.start, group.start + group.repeat)
        ]
        numbered = tuple(readers(fields) for fields in specs)
        mains = tuple(fields[main] for fields in specs)
        return _GroupPlan(group, main, readers(group.fields), numbered, mains)

    def _members(
        self, record: Record, plan: _GroupPlan
    ) -> tuple[list[tuple[Record, _MemberReaders, int]], int]:
        """The members of a group the record may fill, each with the readers of its fields and
        its place among the group's members; and how many members the group has in all."""
        group = plan.group
        if plan.numbered:
            live = self._live.get(id(plan))
            if live is None:
                live = tuple(enumerate(plan.numbered))
            return [(record, readers, n) for n, readers in live], len(plan.numbered)
        if group.each is not None:
            subs: Sequence[Record] = record.each(group.each)
        else:
            names = self._names
            subs = [
                _Indexed(record, n, names) for n in range(group.start, group.start + group.repeat)
            ]
        return [(sub, plan.readers, n) for n, sub in enumerate(subs)], len(subs)

    @staticmethod
    def _group_values(
        sub: Record,
        main: str,
        readers: _MemberReaders,
        names: tuple[str, str, tuple[str, ...]],
        out: list[Problem],
    ) -> dict[str, Any] | None:
        """The values of one group member, or None when its main value is empty."""
        read_main, rest = readers
        _where, main_name, rest_names = names
        first = read_main(sub, main_name, out)
        if first is None:
            return None  # most of bild_1..bild_50 are empty: skip the rest cheaply
        got: dict[str, Any] = {main: first}
        for (name, read), full_name in zip(rest, rest_names, strict=True):
            got[name] = read(sub, full_name, out)
        return got

    def images(self, record: Record, out: list[Problem]) -> list[Image]:
        images: list[Image] = []
        position = 0  # counts every image the export names, so problems point at it
        for plan in self._image_groups:
            members, count = self._members(record, plan)
            for sub, readers, n in members:
                names = plan.member_names("images", position + n)
                where = names[0]
                got = self._group_values(sub, plan.main, readers, names, out)
                if got is None:
                    continue
                try:
                    url, warnings = transforms.image_url(got["url"], self._base_url)
                except ValueError as exc:  # e.g. "http://[bad": one bad picture, not the file
                    out.append(Problem(f"{where}.url", got["url"], f"{exc}; left out", "warning"))
                    continue
                if warnings:  # most URLs need no repair: no generator made for nothing
                    out.extend(Problem(f"{where}.url", got["url"], w, "warning") for w in warnings)
                if not _ABSOLUTE.match(url):
                    # A file name from a transfer ZIP: a listing without that picture is
                    # still worth publishing, so this only warns.
                    reason = "not an absolute http(s) URL and the mapping has no base_url; left out"
                    out.append(Problem(f"{where}.url", got["url"], reason, "warning"))
                    continue
                order = got.get("order")
                # Positional, in Image's field order: keywords cost a third of the call.
                images.append(
                    Image(
                        url,
                        got.get("caption"),
                        len(images) if order is None else order,
                        bool(got.get("floor_plan")),
                        got.get("revision"),
                    )
                )
            position += count
        return images

    def viewings(self, record: Record, out: list[Problem]) -> list[Viewing]:
        viewings: list[Viewing] = []
        for plan in self._viewing_groups:
            for sub, readers, _n in self._members(record, plan)[0]:
                names = plan.member_names("viewings", len(viewings))
                got = self._group_values(sub, plan.main, readers, names, out)
                if got is None:
                    continue
                starts_at, ends_at = got["starts_at"], got.get("ends_at")
                if isinstance(ends_at, time):
                    ends_at = datetime.combine(starts_at.date(), ends_at)
                viewings.append(Viewing(starts_at=starts_at, ends_at=ends_at, note=got.get("note")))
        return viewings
