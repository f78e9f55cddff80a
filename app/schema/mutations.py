"""Root mutation fields: every input is checked before any upstream call.

After a write the group's cached copy is dropped; when the backend does not answer with the
whole group (Condeco's 201 without members, PUT 200 without members, PATCH 204) the group is
read back through the loader, so the answer is what the backend now holds.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app import ids
from app.errors import BadUserInput
from app.gateway import Tenant as TenantRuntime
from app.models import GroupDraft, GroupPatch, GroupRecord
from app.schema.context import Context
from app.schema.inputs import (
    CreateGroupInput,
    DeleteGroupInput,
    GroupMembersInput,
    ReplaceGroupInput,
    UpdateGroupInput,
)
from app.schema.types import Group, group_from_record

MAX_NAME = 256
MAX_MEMBERS_PER_CALL = 1000
MAX_SCIM_ID = 256


@strawberry.type
class DeleteGroupPayload:
    deleted_group_id: strawberry.ID


def _name(value: str, field: str = "displayName") -> str:
    value = value.strip()
    if not value:
        raise BadUserInput(f"{field} must not be empty")
    if len(value) > MAX_NAME:
        raise BadUserInput(f"{field} must be at most {MAX_NAME} characters")
    return value


def _external_id(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_NAME:
        raise BadUserInput(f"externalId must be at most {MAX_NAME} characters")
    return value


def _member_ids(values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_MEMBERS_PER_CALL:
        raise BadUserInput(f"at most {MAX_MEMBERS_PER_CALL} memberScimIds per call")
    out: dict[str, None] = {}
    for value in values:
        if not value.strip() or len(value) > MAX_SCIM_ID or ids.has_control_characters(value):
            raise BadUserInput("memberScimIds must be non-empty SCIM ids")
        out[value] = None
    return tuple(out)


def _if_match(value: str | None) -> str | None:
    """An ETag as an ``If-Match`` header (RFC 9110 §8.8.3): short, visible ASCII only."""
    if value is None:
        return None
    if not value or len(value) > MAX_SCIM_ID or not all(" " < c < "\x7f" for c in value):
        raise BadUserInput("ifMatch must be a group's version as read (visible ASCII)")
    return value


def _draft(input: CreateGroupInput | ReplaceGroupInput) -> GroupDraft:
    """The whole group a create (POST) or replace (PUT) sends, checked."""
    return GroupDraft(
        _name(input.display_name),
        _external_id(input.external_id),
        _member_ids(input.member_scim_ids),
    )


def _target(ctx: Context, global_id: str) -> tuple[TenantRuntime, str]:
    gid = ids.decode_id(global_id, "Group")
    return ctx.writable_tenant(gid.tenant), gid.scim_id


async def _answer(
    ctx: Context, tenant: TenantRuntime, group_id: str, written: GroupRecord | str | None
) -> Group:
    ctx.forget_group(tenant.id, group_id)
    loaders = ctx.loaders[tenant.id]
    if isinstance(written, GroupRecord):
        loaders.prime_groups([written])
        return group_from_record(tenant.id, written)
    record = await loaders.groups.load(group_id)
    return group_from_record(tenant.id, record)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a group (SCIM POST).")
    async def create_group(self, info: Info[Context, None], input: CreateGroupInput) -> Group:
        ctx = info.context
        tenant = ctx.writable_tenant(input.tenant_id)
        draft = _draft(input)
        created = await tenant.backend.create_group(draft)
        new_id = created if isinstance(created, str) else created.id
        return await _answer(ctx, tenant, new_id, created if not isinstance(created, str) else None)

    @strawberry.mutation(description="Change some attributes of a group (SCIM PATCH).")
    async def update_group(self, info: Info[Context, None], input: UpdateGroupInput) -> Group:
        ctx = info.context
        tenant, gid = _target(ctx, input.id)
        patch = GroupPatch(
            display_name=_name(input.display_name) if input.display_name is not None else None,
            external_id=_external_id(input.external_id),
        )
        if patch.display_name is None and patch.external_id is None:
            raise BadUserInput("nothing to update: give displayName and/or externalId")
        written = await tenant.backend.patch_group(gid, patch, if_match=_if_match(input.if_match))
        return await _answer(ctx, tenant, gid, written)

    @strawberry.mutation(description="Replace a whole group, members included (SCIM PUT).")
    async def replace_group(self, info: Info[Context, None], input: ReplaceGroupInput) -> Group:
        ctx = info.context
        tenant, gid = _target(ctx, input.id)
        draft = _draft(input)
        written = await tenant.backend.replace_group(gid, draft, if_match=_if_match(input.if_match))
        return await _answer(ctx, tenant, gid, written)

    @strawberry.mutation(description="Add members to a group (SCIM PATCH add).")
    async def add_group_members(self, info: Info[Context, None], input: GroupMembersInput) -> Group:
        return await _members(info.context, input, "add")

    @strawberry.mutation(description="Remove members from a group (SCIM PATCH remove).")
    async def remove_group_members(
        self, info: Info[Context, None], input: GroupMembersInput
    ) -> Group:
        return await _members(info.context, input, "remove")

    @strawberry.mutation(description="Make these the group's only members (SCIM PATCH replace).")
    async def set_group_members(self, info: Info[Context, None], input: GroupMembersInput) -> Group:
        return await _members(info.context, input, "set")

    @strawberry.mutation(description="Delete a group (SCIM DELETE).")
    async def delete_group(
        self, info: Info[Context, None], input: DeleteGroupInput
    ) -> DeleteGroupPayload:
        ctx = info.context
        tenant, gid = _target(ctx, input.id)
        await tenant.backend.delete_group(gid, if_match=_if_match(input.if_match))
        ctx.forget_group(tenant.id, gid)
        return DeleteGroupPayload(deleted_group_id=strawberry.ID(input.id))


async def _members(ctx: Context, input: GroupMembersInput, how: str) -> Group:
    tenant, gid = _target(ctx, input.id)
    members = _member_ids(input.member_scim_ids)
    if how != "set" and not members:
        raise BadUserInput("memberScimIds must not be empty")
    if how == "add":
        patch = GroupPatch(add_members=members)
    elif how == "remove":
        patch = GroupPatch(remove_members=members)
    else:
        patch = GroupPatch(replace_members=members)
    written = await tenant.backend.patch_group(gid, patch, if_match=_if_match(input.if_match))
    return await _answer(ctx, tenant, gid, written)
