"""The schema's Group and Member objects, made field by field on the hot path (``_new``), are
the objects the dataclass constructors make from the same records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import strawberry

from app import ids
from app.models import GroupName, GroupRecord, MemberRecord, MemberRef
from app.schema.types import (
    Group,
    Member,
    group_from_name,
    group_from_record,
    member_from_ref,
)

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def same(made: object, expected: object) -> bool:
    """The same class and the same attributes, values and order (``vars`` of each)."""
    return type(made) is type(expected) and list(vars(made).items()) == list(vars(expected).items())


@pytest.mark.parametrize(
    "record",
    [
        GroupRecord(
            "g1", "HR", "ext", (MemberRef("u1", "Ada"), MemberRef("u2")), WHEN, WHEN, 'W/"1"'
        ),
        GroupRecord("g2", "Empty", members=None),
    ],
)
def test_a_group_from_a_record_is_the_dataclass_s_group(record: GroupRecord) -> None:
    made = group_from_record("acme", record)
    assert same(
        made,
        Group(
            id=strawberry.ID(ids.encode_id("Group", "acme", record.id)),
            scim_id=record.id,
            display_name=record.display_name,
            external_id=record.external_id,
            member_count=len(record.members or ()),
            created=record.created,
            last_modified=record.last_modified,
            version=record.version,
            tenant_id="acme",
            refs=record.members,
        ),
    )


def test_a_group_from_a_name_is_the_dataclass_s_group() -> None:
    made = group_from_name("acme", GroupName("g1", "HR"))
    assert same(
        made,
        Group(
            id=strawberry.ID(ids.encode_id("Group", "acme", "g1")),
            scim_id="g1",
            display_name="HR",
            external_id=None,
            member_count=0,
            created=None,
            last_modified=None,
            version=None,
            tenant_id="acme",
            refs=None,
        ),
    )


@pytest.mark.parametrize(
    ("ref", "detail", "expected"),
    [
        (MemberRef("u1", "Ada", "User"), None, ("Ada", None, "u1", "User")),
        (MemberRef("u1", None, ""), None, (None, None, "u1", None)),
        (
            MemberRef("u1", "Ada"),
            MemberRecord("u1", "Ada L.", "ada@acme.example", "U-1", "User"),
            ("Ada L.", "ada@acme.example", "U-1", "User"),
        ),
        (MemberRef("u1", "Ada", "Group"), MemberRecord("u1"), ("Ada", None, "u1", "Group")),
    ],
)
def test_a_member_from_a_ref_is_the_dataclass_s_member(
    ref: MemberRef, detail: MemberRecord | None, expected: tuple[str | None, ...]
) -> None:
    made = member_from_ref("acme", ref, detail)
    display, login_id, user_id, type_ = expected
    assert same(
        made,
        Member(
            id=strawberry.ID(ids.encode_id("Member", "acme", "u1")),
            scim_id="u1",
            display=display,
            login_id=login_id,
            user_id=user_id,
            type=type_,
            tenant_id="acme",
        ),
    )
