"""Compile the typed GroupFilter into one SCIM filter string (RFC 7644 §3.4.2.2).

Values are quoted with :meth:`scim2_models.ScimFilter.quote`, so a ``"`` or ``\\`` in a value can
never change the filter's meaning. A raw ``scim`` filter is parsed (and checked against the Group
schema) before anything is sent; terms are joined with ``and``, each in parentheses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from scim2_models import Group, ScimFilter, SearchRequest

from app.errors import BadUserInput

OPERATORS = ("eq", "ne", "co", "sw", "ew")
MAX_FILTER_LENGTH = 2048
MAX_VALUE_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """The typed filter, independent of GraphQL: ``{"eq": "HR"}``-style operator maps."""

    display_name: Mapping[str, str | None] | None = None
    external_id: Mapping[str, str | None] | None = None
    member_scim_id: str | None = None
    scim: str | None = None


def parse_raw(expression: str) -> str:
    """Check a client's raw SCIM filter; return it normalised, or raise BAD_USER_INPUT."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise BadUserInput(f"scim filter is longer than {MAX_FILTER_LENGTH} characters")
    try:
        # A SearchRequest bound to Group checks syntax and, strictly, every attribute and value
        # against the Group schema (RFC 7644 §3.4.2.1: an unknown attribute is invalidFilter).
        request = SearchRequest[Group](filter=expression.strip())
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]) for e in exc.errors())
        raise BadUserInput(f"invalid SCIM filter: {reasons}", scim_type="invalidFilter") from exc
    return str(request.filter)


def _terms(attr: str, ops: Mapping[str, str | None] | None) -> list[str]:
    if not ops:
        return []
    out = []
    for op in OPERATORS:
        value = ops.get(op)
        if value is not None:
            out.append(f"{attr} {op} {ScimFilter.quote(_value(value))}")
    return out


def _value(value: str) -> str:
    if len(value) > MAX_VALUE_LENGTH:
        raise BadUserInput(f"filter values must be at most {MAX_VALUE_LENGTH} characters")
    return value


def compile_filter(spec: FilterSpec | None) -> str | None:
    """The SCIM filter for ``spec``, or ``None`` when it filters nothing."""
    if spec is None:
        return None
    terms = _terms("displayName", spec.display_name) + _terms("externalId", spec.external_id)
    if spec.member_scim_id is not None:
        terms.append(f"members eq {ScimFilter.quote(_value(spec.member_scim_id))}")
    if spec.scim is not None and spec.scim.strip():
        terms.append(parse_raw(spec.scim))
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    return " and ".join(f"({t})" for t in terms)
