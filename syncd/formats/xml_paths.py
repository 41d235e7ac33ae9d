"""Simple XPath child paths of a mapping, all found in one walk over a record's elements.

"geo/plz", "geo/geokoordinaten/@breitengrad" and unions of element paths give exactly what
lxml's XPath gives (the same nodes, in document order); every other expression is left to
XPath. Only reads elements: never changes a tree, never evaluates anything but names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

# An unprefixed XML name: XPath's name test for an element (or attribute) in no namespace,
# which is what lxml's ``tag`` (``get``) holds for such a node. Nothing else qualifies.
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_ELEMENT_PATH = re.compile(rf"{_NAME}(?:/{_NAME})*")
_ATTRIBUTE_PATH = re.compile(rf"(?:{_NAME}/)*@{_NAME}")


class _Step:
    """One element name of the path trie: where an expression's nodes are collected."""

    __slots__ = ("attributes", "children", "elements")

    def __init__(self) -> None:
        self.children: dict[str, _Step] = {}
        self.elements: list[int] = []  # slots collecting the element itself
        self.attributes: list[tuple[int, str]] = []  # (slot, attribute name)


def is_simple(expr: object) -> bool:
    """Whether ``expr`` is one this walk answers (a union of element paths, or one path
    ending in an attribute)."""
    if not isinstance(expr, str):
        return False
    branches = [branch.strip() for branch in expr.split("|")]
    if len(branches) == 1:
        return bool(_ELEMENT_PATH.fullmatch(branches[0]) or _ATTRIBUTE_PATH.fullmatch(expr))
    # A union with attributes would need the order of attribute nodes: left to XPath.
    return all(_ELEMENT_PATH.fullmatch(branch) for branch in branches)


class PathWalk:
    """The simple expressions among ``expressions``, compiled into a trie of names.

    ``walk(element)`` visits only the elements some expression names, so a record's simple
    fields cost one pass over its children instead of one XPath evaluation each.
    """

    def __init__(self, expressions: Iterable[object]) -> None:
        self._root = _Step()
        self.slots: dict[str, int] = {}
        for expr in expressions:
            if not isinstance(expr, str) or expr in self.slots or not is_simple(expr):
                continue
            slot = self.slots[expr] = len(self.slots)
            for branch in {branch.strip() for branch in expr.split("|")}:
                *names, last = branch.split("/")
                attribute = last[1:] if last.startswith("@") else None
                if attribute is None:
                    names.append(last)
                step = self._root
                for name in names:
                    step = step.children.setdefault(name, _Step())
                if attribute is not None:
                    step.attributes.append((slot, attribute))
                elif slot not in step.elements:  # "a | a" is one node set
                    step.elements.append(slot)

    def walk(self, element: etree._Element) -> list[list[str]]:
        """The texts of every simple expression's nodes (by slot), in document order."""
        found: list[list[str]] = [[] for _ in self.slots]
        if found:
            _visit(element, self._root, found)
        return found


class CompoundText(str):
    """The text of an element that only holds other elements (``<range><min>50</min>
    <max>80</max></range>``): XPath's string value ("5080"), which is never a value of its
    own, with the texts of the elements inside (``parts``) for a mapping that joins them."""

    parts: tuple[str, ...]
    tags: tuple[str, ...]  # the names of the innermost elements, for the problem

    @classmethod
    def of(cls, element: etree._Element) -> CompoundText:
        made = cls("".join(str(t) for t in element.itertext()))
        made.parts = tuple(str(t).strip() for t in element.itertext() if str(t).strip())
        made.tags = tuple(
            dict.fromkeys(
                str(etree.QName(e).localname)
                for e in element.iterdescendants()
                if isinstance(e.tag, str) and len(e) == 0
            )
        )
        return made


def element_text(element: etree._Element) -> str:
    """An element's text as XPath's string value: all of its text, or "" for none.

    Text with inline markup (``Ljus<br/>trea``) is text; an element whose only text is in
    elements inside it is a ``CompoundText``, for the field readers to refuse or join."""
    if len(element) == 0:  # a leaf: its text is all there is (the common case)
        return element.text or ""
    if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
        return "".join(str(t) for t in element.itertext())
    return CompoundText.of(element)


def _visit(element: etree._Element, step: _Step, found: list[list[str]]) -> None:
    for slot, name in step.attributes:
        value = element.get(name)
        if value is not None:
            found[slot].append(value)
    children = step.children
    if not children:
        return
    # Pre-order over the children: document order, as XPath returns a node set.
    for child in element:
        below = children.get(child.tag)
        if below is None:
            continue
        if below.elements:
            text = element_text(child)
            for slot in below.elements:
                found[slot].append(text)
        if below.children or below.attributes:
            _visit(child, below, found)
