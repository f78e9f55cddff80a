"""Look ahead in the query: which fields does the client want below this one?

Used to skip work nobody asked for (members of a listed group, a member's loginId), never to
change an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def _walk(selections: Iterable[Any], names: frozenset[str], depth: int) -> bool:
    for sel in selections:
        if isinstance(sel, SelectedField):
            if sel.name in names:
                return True
            if depth > 0 and _walk(sel.selections, names, depth - 1):
                return True
        elif isinstance(sel, FragmentSpread | InlineFragment) and _walk(
            sel.selections, names, depth
        ):
            return True
    return False


def _memoised(info: Any, key: tuple[Any, ...], answer: Callable[[], bool]) -> bool:
    """``answer()``, memoised per request by the current field node and ``key`` (a page asks
    the same of every group), when the context has a ``selections`` dict: the document does
    not change during the request."""
    memo: dict[tuple[Any, ...], bool] | None = getattr(info.context, "selections", None)
    if memo is None:
        return answer()
    full = (id(info._raw_info.field_nodes[0]), *key)
    found = memo.get(full)
    if found is None:
        found = memo[full] = answer()
    return found


def wants(info: Any, names: frozenset[str], depth: int = 3) -> bool:
    """Whether any of ``names`` is selected within ``depth`` levels below the current field
    (memoised, :func:`_memoised`)."""
    return _memoised(
        info,
        (names, depth),
        lambda: any(_walk(field.selections, names, depth) for field in info.selected_fields),
    )


def selected_at(info: Any, paths: Iterable[tuple[str, ...]]) -> list[SelectedField]:
    """The fields reached from the current field by any of ``paths`` (field names, through
    fragments), e.g. ``("nodes", "members")`` from a connection: every alias of them."""
    return [found for path in paths for found in below(info.selected_fields, path)]


def below(fields: Iterable[SelectedField], path: tuple[str, ...]) -> list[SelectedField]:
    """The fields reached from ``fields`` by ``path`` (field names, through fragments)."""
    out: list[SelectedField] = []
    for field in fields:
        _follow(field.selections, path, out)
    return out


def selects_only(field: SelectedField, names: frozenset[str]) -> bool:
    """Whether every field selected directly below ``field`` (through fragments) is in
    ``names``."""
    return _only(field.selections, names)


def wants_only(info: Any, names: frozenset[str], path: tuple[str, ...] = ()) -> bool:
    """Whether every field reached by ``path`` from the current field (every alias; the
    current field itself for ``()``) selects only ``names`` (memoised, :func:`_memoised`)."""

    def answer() -> bool:
        fields = below(info.selected_fields, path) if path else info.selected_fields
        return all(selects_only(field, names) for field in fields)

    return _memoised(info, (names, path), answer)


def _only(selections: Iterable[Any], names: frozenset[str]) -> bool:
    for sel in selections:
        if isinstance(sel, SelectedField):
            if sel.name not in names:
                return False
        elif isinstance(sel, FragmentSpread | InlineFragment) and not _only(sel.selections, names):
            return False
    return True


def _follow(selections: Iterable[Any], path: tuple[str, ...], out: list[SelectedField]) -> None:
    for sel in selections:
        if isinstance(sel, SelectedField):
            if sel.name == path[0]:
                if len(path) == 1:
                    out.append(sel)
                else:
                    _follow(sel.selections, path[1:], out)
        elif isinstance(sel, FragmentSpread | InlineFragment):
            _follow(sel.selections, path, out)
