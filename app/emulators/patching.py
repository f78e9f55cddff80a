"""Reading Group bodies (POST, PUT) and applying PatchOp (RFC 7644 §3.5.2) to a stored group.

Supported PATCH targets: ``members``, ``members[<filter on value>]`` (remove),
``displayName``, ``externalId``, and no path with an object value. ``op`` is matched
case-insensitively, because Azure AD and Okta send ``Add``/``Replace``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidPathException, Path
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    ValuePath,
)

from app.emulators.common import GROUP_SCHEMA, PATCH_SCHEMA, ScimHTTPError
from app.emulators.filtering import member_predicate
from app.emulators.store import GroupStore, StoredGroup

Members = list[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class GroupFields:
    """The writable attributes of a Group body (RFC 7643 §4.2)."""

    display_name: str
    external_id: str | None
    members: Members
    id: str | None = None


def _invalid(detail: str, scim_type: str = "invalidValue") -> ScimHTTPError:
    return ScimHTTPError(400, detail, scim_type)


def read_members(value: Any) -> Members:
    """``[{"value": "x", "display": "..."}]`` to ``[("x", "...")]``; 400 on anything else."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise _invalid("members must be a list of objects with a value")
    members: Members = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise _invalid("Each member needs a string value")
        display = item.get("display")
        members.append((item["value"], display if isinstance(display, str) else None))
    return members


def _text(value: Any, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise _invalid(f"{name} must be a non-empty string")
    return value


def read_group(body: Any) -> GroupFields:
    """The attributes of a POST or PUT body; ``displayName`` is required (RFC 7643 §4.2)."""
    if not isinstance(body, dict):
        raise _invalid("The body must be a JSON object", "invalidSyntax")
    display_name = _text(body.get("displayName"), "displayName")
    assert display_name is not None
    group_id = body.get("id")
    return GroupFields(
        display_name=display_name,
        external_id=_text(body.get("externalId"), "externalId", optional=True),
        members=read_members(body.get("members", [])),
        id=group_id if isinstance(group_id, str) and group_id else None,
    )


def apply_patch(
    group: StoredGroup, body: Any, store: GroupStore, *, and_lists_values: bool = False
) -> StoredGroup:
    """A patched copy of ``group`` (the caller saves it); 400 on nonsense.

    ``and_lists_values`` is Condeco's reading of ``members[value eq "a" and value eq "b"]``:
    remove both members, not the (impossible) member whose value is both.
    """
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        raise _invalid("A PatchOp body needs an Operations list", "invalidSyntax")
    if PATCH_SCHEMA not in body.get("schemas", [PATCH_SCHEMA]):
        raise _invalid("schemas must list the PatchOp schema", "invalidSyntax")
    patched = group.copy()
    for operation in body["Operations"]:
        if not isinstance(operation, dict):
            raise _invalid("Each operation must be an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in {"add", "remove", "replace"}:
            raise _invalid(f"Unknown op {operation.get('op')!r}")
        path = operation.get("path")
        if path is None or path == "":
            _apply_without_path(patched, op, operation.get("value"), store)
        elif isinstance(path, str):
            _apply_at_path(patched, op, path, operation.get("value"), store, and_lists_values)
        else:
            raise _invalid("path must be a string", "invalidPath")
    return patched


def apply_partial_group(group: StoredGroup, body: dict[str, Any], store: GroupStore) -> StoredGroup:
    """Condeco's second PATCH form (seed "Update example 2"): a partial Group, each attribute
    it carries replacing the stored one."""
    patched = group.copy()
    _apply_without_path(patched, "replace", body, store)
    return patched


def is_partial_group(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and "Operations" not in body
        and GROUP_SCHEMA in body.get("schemas", [])
    )


_IGNORED_KEYS = {"schemas", "id", "meta"}


def _apply_without_path(group: StoredGroup, op: str, value: Any, store: GroupStore) -> None:
    """RFC 7644 §3.5.2.1/§3.5.2.3: without a path, the value is an object of attributes."""
    if op == "remove":
        raise _invalid("remove needs a path", "noTarget")
    if not isinstance(value, dict):
        raise _invalid("Without a path the value must be an object")
    for key, item in value.items():
        if key in _IGNORED_KEYS:
            continue
        _apply_at_path(group, op, key, item, store, and_lists_values=False)


def _apply_at_path(
    group: StoredGroup, op: str, text: str, value: Any, store: GroupStore, and_lists_values: bool
) -> None:
    try:
        node = Path(text).ast
    except (InvalidPathException, ValueError) as exc:
        raise _invalid(f"Invalid path {text!r}: {exc}", "invalidPath") from exc
    if isinstance(node, ValuePath):
        _apply_value_path(group, op, node, value, and_lists_values)
        return
    if not isinstance(node, AttrPath) or node.sub_attr is not None:
        raise _invalid(f"Unsupported path {text!r}", "invalidPath")
    if node.uri is not None and node.uri.lower() != GROUP_SCHEMA.lower():
        raise _invalid(f"Unknown schema in path {text!r}", "invalidPath")
    name = node.attr.lower()
    if name == "members":
        _apply_members(group, op, value, store)
    elif name == "displayname":
        if op == "remove":
            raise _invalid("displayName is required and cannot be removed")
        display_name = _text(value, "displayName")
        assert display_name is not None
        group.display_name = display_name
    elif name == "externalid":
        group.external_id = None if op == "remove" else _text(value, "externalId", optional=True)
    else:
        raise _invalid(f"Unsupported path {text!r}", "invalidPath")


def _apply_members(group: StoredGroup, op: str, value: Any, store: GroupStore) -> None:
    if op == "remove":
        if value is None:  # RFC 7644 §3.5.2.2: no filter removes every value
            group.members.clear()
            return
        for member_value, _ in read_members(value):  # Azure AD's remove-with-value form
            group.members.pop(member_value, None)
        return
    members = store.resolve_members(read_members(value))
    if op == "replace":
        group.members.clear()
    for member_value, display in members.items():
        group.members.setdefault(member_value, display)


def _apply_value_path(
    group: StoredGroup, op: str, node: ValuePath, value: Any, and_lists_values: bool
) -> None:
    if node.attr_path.attr.lower() != "members" or node.sub_attr is not None:
        raise _invalid(f"Unsupported path {node}", "invalidPath")
    if op != "remove":
        raise _invalid("Only remove takes a members[...] filter here", "invalidPath")
    selected: Callable[[str, str | None], bool]
    if and_lists_values:
        values = _eq_values(node.val_filter)
        selected = lambda v, d: v in values  # noqa: E731  # a one-line predicate reads best
    else:
        selected = member_predicate(node.val_filter)
    for member_value, display in list(group.members.items()):
        if selected(member_value, display):
            del group.members[member_value]


def _eq_values(node: FilterNode) -> set[str]:
    """Every ``value eq "x"`` of a filter, whatever joins them (Condeco's quirk)."""
    if isinstance(node, LogicalExpr):
        return set().union(*(_eq_values(term) for term in node.terms))
    if (
        isinstance(node, Comparison)
        and node.op is CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and isinstance(node.value, str)
    ):
        return {node.value}
    raise _invalid(f"Unsupported member filter {node}", "invalidPath")
