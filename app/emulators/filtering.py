"""SCIM filters (RFC 7644 §3.4.2.2) over the emulators' group records.

``scim2_models.ScimFilter`` parses; evaluation is ours, over plain records, because the
generic evaluator is far too slow for 5,000 groups. :func:`compile_filter` returns a
:class:`FilterPlan`: a predicate, plus a candidate set drawn from the store's indexes when the
filter is made of ``eq`` terms on ``id``, ``displayName`` or ``members``. An ``or`` of 200
``id eq``/``members eq`` terms therefore costs 200 set look-ups, not 200 x 5,000 comparisons.

Attribute names are case-insensitive (§3.4.2.2). ``displayName`` and ``members.display``
compare case-insensitively (RFC 7643 §4.2, caseExact false); ``id``, ``externalId`` and
``members.value`` compare exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from app.emulators.common import GROUP_SCHEMA, ScimHTTPError

if TYPE_CHECKING:
    from app.emulators.store import GroupStore, StoredGroup

Predicate = Callable[["StoredGroup"], bool]

_CASE_EXACT = {"id": True, "externalid": True, "displayname": False}
_MEMBER_CASE_EXACT = {"value": True, "display": False}


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """How to run one filter: ``candidates`` (ids, or ``None`` for all) then ``predicate``.

    ``exact`` means the candidates are precisely the matches and the predicate can be skipped.
    """

    predicate: Predicate
    candidates: frozenset[str] | None
    exact: bool


def parse_filter(text: str) -> FilterNode:
    """Parse a filter, answering 400 ``invalidFilter`` (RFC 7644 §3.12) on bad syntax.

    Surrounding spaces are tolerated: Condeco's own examples send ``filter= displayName eq``.
    """
    try:
        return ScimFilter(text.strip()).ast
    except (InvalidFilterException, ValueError) as exc:
        raise ScimHTTPError(400, f"Invalid filter: {exc}", "invalidFilter") from exc


def compile_filter(text: str, store: GroupStore) -> FilterPlan:
    node = parse_filter(text)
    predicate = _predicate(node)
    indexed = _candidates(node, store)
    if indexed is None:
        return FilterPlan(predicate, None, exact=False)
    ids, exact = indexed
    return FilterPlan(predicate, frozenset(ids), exact)


def _attr_name(path: AttrPath) -> str:
    if path.uri is not None and path.uri.lower() != GROUP_SCHEMA.lower():
        raise ScimHTTPError(400, f"Unknown schema in filter: {path.uri}", "invalidFilter")
    return path.attr.lower()


def _compare(op: CompareOperator, actual: str | None, wanted: Any, case_exact: bool) -> bool:
    if op is CompareOperator.ne:
        return not _compare(CompareOperator.eq, actual, wanted, case_exact)
    if actual is None or not isinstance(wanted, str):
        return False  # a number, boolean or null never equals a string attribute
    text: str = wanted
    if not case_exact:
        actual, text = actual.lower(), text.lower()
    if op is CompareOperator.eq:
        return actual == text
    if op is CompareOperator.co:
        return text in actual
    if op is CompareOperator.sw:
        return actual.startswith(text)
    if op is CompareOperator.ew:
        return actual.endswith(text)
    if op is CompareOperator.gt:
        return actual > text
    if op is CompareOperator.ge:
        return actual >= text
    if op is CompareOperator.lt:
        return actual < text
    return actual <= text  # le


def member_predicate(node: FilterNode) -> Callable[[str, str | None], bool]:
    """A predicate over one member ``(value, display)``, for ``members[...]`` selections."""
    if isinstance(node, LogicalExpr):
        parts = [member_predicate(term) for term in node.terms]
        if node.op is LogicalOperator.and_:
            return lambda v, d: all(p(v, d) for p in parts)
        return lambda v, d: any(p(v, d) for p in parts)
    if isinstance(node, Not):
        inner = member_predicate(node.expr)
        return lambda v, d: not inner(v, d)
    if isinstance(node, Comparison | Present):
        name = _attr_name(node.attr_path)
        if name not in _MEMBER_CASE_EXACT or node.attr_path.sub_attr is not None:
            raise ScimHTTPError(400, f"Unsupported member attribute {name!r}", "invalidFilter")
        pick: Callable[[str, str | None], str | None] = (
            (lambda v, d: v) if name == "value" else (lambda v, d: d)
        )
        if isinstance(node, Present):
            return lambda v, d: bool(pick(v, d))
        op, wanted, exact = node.op, node.value, _MEMBER_CASE_EXACT[name]
        return lambda v, d: _compare(op, pick(v, d), wanted, exact)
    raise ScimHTTPError(400, f"Unsupported filter {node}", "invalidFilter")


def _predicate(node: FilterNode) -> Predicate:
    if isinstance(node, LogicalExpr):
        parts = [_predicate(term) for term in node.terms]
        if node.op is LogicalOperator.and_:
            return lambda g: all(p(g) for p in parts)
        return lambda g: any(p(g) for p in parts)
    if isinstance(node, Not):
        inner = _predicate(node.expr)
        return lambda g: not inner(g)
    if isinstance(node, ValuePath):
        if _attr_name(node.attr_path) != "members" or node.attr_path.sub_attr is not None:
            raise ScimHTTPError(400, f"Unsupported filter {node}", "invalidFilter")
        member = member_predicate(node.val_filter)
        return lambda g: any(member(v, d) for v, d in g.members.items())
    if isinstance(node, Comparison | Present):
        return _attribute_predicate(node)
    raise ScimHTTPError(400, f"Unsupported filter {node}", "invalidFilter")


def _attribute_predicate(node: Comparison | Present) -> Predicate:
    name, sub = _attr_name(node.attr_path), node.attr_path.sub_attr
    if name == "members":
        # ``members eq "x"`` compares the members' values (RFC 7643 §2.4), as Condeco's
        # "get group with member" example does.
        inner = AttrPath(sub or "value")
        leaf = (
            Present(inner) if isinstance(node, Present) else Comparison(inner, node.op, node.value)
        )
        if isinstance(node, Present) and sub is None:
            return lambda g: bool(g.members)
        member = member_predicate(leaf)
        if isinstance(node, Comparison) and node.op is CompareOperator.ne:
            positive = member_predicate(Comparison(inner, CompareOperator.eq, node.value))
            return lambda g: not any(positive(v, d) for v, d in g.members.items())
        return lambda g: any(member(v, d) for v, d in g.members.items())
    if name not in _CASE_EXACT or sub is not None:
        raise ScimHTTPError(400, f"Unsupported filter attribute {node.attr_path}", "invalidFilter")
    get: Callable[[StoredGroup], str | None] = {
        "id": lambda g: g.id,
        "displayname": lambda g: g.display_name,
        "externalid": lambda g: g.external_id,
    }[name]
    if isinstance(node, Present):
        return lambda g: bool(get(g))
    op, wanted, exact = node.op, node.value, _CASE_EXACT[name]
    return lambda g: _compare(op, get(g), wanted, exact)


def _candidates(node: FilterNode, store: GroupStore) -> tuple[set[str], bool] | None:
    """Ids that may match, from the store's indexes, and whether they match exactly."""
    if isinstance(node, LogicalExpr):
        parts = [_candidates(term, store) for term in node.terms]
        if node.op is LogicalOperator.or_:
            if any(part is None for part in parts):
                return None
            union: set[str] = set()
            for ids, _ in parts:  # type: ignore[misc]  # None ruled out above
                union |= ids
            return union, all(exact for _, exact in parts)  # type: ignore[misc]
        known = [part for part in parts if part is not None]
        if not known:
            return None
        common = set.intersection(*(ids for ids, _ in known))
        return common, len(known) == len(parts) and all(exact for _, exact in known)
    if isinstance(node, ValuePath):
        if (
            _attr_name(node.attr_path) == "members"
            and isinstance(node.val_filter, Comparison)
            and node.val_filter.op is CompareOperator.eq
            and node.val_filter.attr_path.attr.lower() == "value"
        ):
            return store.ids_with_member(node.val_filter.value), True
        return None
    if not isinstance(node, Comparison) or node.op is not CompareOperator.eq:
        return None
    if not isinstance(node.value, str):
        return set(), True
    name, sub = node.attr_path.attr.lower(), node.attr_path.sub_attr
    if name == "id" and sub is None:
        return ({node.value} if node.value in store.groups else set()), True
    if name == "displayname" and sub is None:
        return store.ids_named(node.value), True
    if name == "members" and (sub is None or sub.lower() == "value"):
        return store.ids_with_member(node.value), True
    return None
