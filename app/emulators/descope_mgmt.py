"""Descope's management API for external groups, as pure functions over a tenant's store.

Wire contract: ``/work/shared/seeds/descope-mgmt-external-groups.txt``. Each handler takes the
JSON body (``tenantId`` already checked) and the tenant's :class:`GroupStore`, and returns the
groups to answer; :func:`external_group` renders one. A ``ValueError`` means a 400.
"""

from __future__ import annotations

from typing import Any

from app.emulators.store import GroupStore, StoredGroup


def all_groups(body: dict[str, Any], store: GroupStore) -> list[StoredGroup]:
    """``POST /v1/mgmt/group/all``: every external group of the tenant."""
    return list(store.groups.values())


def groups_of_members(body: dict[str, Any], store: GroupStore) -> list[StoredGroup]:
    """``POST /v1/mgmt/group/member/all``: groups holding any of ``userIds``/``loginIds``.

    Both are optional filters (seed: "loginId or userId are optional"), so neither means all.
    """
    user_ids = _string_list(body, "userIds")
    login_ids = _string_list(body, "loginIds")
    if not user_ids and not login_ids:
        return list(store.groups.values())
    wanted = set(user_ids)
    if login_ids:
        logins = set(login_ids)
        wanted |= {u.id for u in store.users.values() if u.email in logins}
    ids: set[str] = set()
    for user_id in wanted:
        ids |= store.ids_with_member(user_id)
    return [g for g in store.groups.values() if g.id in ids]


def group_with_members(body: dict[str, Any], store: GroupStore) -> list[StoredGroup]:
    """``POST /v1/mgmt/group/members``: the one group asked for, or none when unknown."""
    group_id = body.get("groupId")
    if not isinstance(group_id, str) or not group_id:
        raise ValueError("groupId is required")
    group = store.groups.get(group_id)
    return [group] if group is not None else []


def external_group(group: StoredGroup, store: GroupStore) -> dict[str, Any]:
    """``{id, display, members: [{loginId, userId, display}]}``; loginId is the user's email."""
    members = []
    for value, display in group.members.items():
        user = store.users.get(value)
        member = {"loginId": user.email} if user is not None else {}
        member["userId"] = value
        if display is not None:
            member["display"] = display
        members.append(member)
    return {"id": group.id, "display": group.display_name, "members": members}


def error(code: str, description: str, message: str) -> dict[str, str]:
    """The management API's error shape, e.g. ``E011001``/``Bad request``."""
    return {"errorCode": code, "errorDescription": description, "errorMessage": message}


def _string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key} must be a list of strings")
    return value
