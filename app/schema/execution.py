"""Completion of ready subtrees without graphql-core's per-field machinery.

A page of groups with their members and the members' groups is ~9,000 objects whose fields are
plain attributes: graphql-core completes each one through ``execute_field`` (resolve info,
path, awaitable checks, leaf coercion), which made that query CPU-bound at ~30 us per object.

:class:`GatewayExecutor` plans, once per selection, how to complete an object type whose
selected fields are all *ready*: plain attributes (Strawberry's basic fields), fields
whose value was prefetched (:data:`READY`), ``__typename``, and objects or lists of objects made
of the same. Each distinct plan is compiled once per process into a small Python function that
reads those attributes into dicts (:func:`_compiled`). Only names of our own making go into its
source; every value (response keys, which come from the client's query, classes, coercers) is
bound as a global of the function. Within one operation, an object met again at the same place
of a list (a page names the same groups thousands of times) reuses the dict made for it.

Plans outlive the operation when its document has no directive: documents are parsed once per
text (:mod:`app.schema.limits`), so the next request with the same text brings the very same
operation and field nodes, and nothing else a plan depends on (the schema's types, the
fragments) can differ. They are kept per operation node, for as many operations as the parse
cache keeps documents. With ``@skip``/``@include`` the selection depends on variables, so such
plans stay with their request. Building a ``node(id:)``'s plan cost ~4% of its CPU.

A plan is only an optimisation: whenever a value does not fit it (a null for a non-null field, a
prefetched value that is not there, a scalar that does not coerce, an unexpected class), the
object is completed again the ordinary way, which reports the error at its path exactly as
graphql-core would. Reads are side-effect free, so a second pass is safe.

Off whenever field middleware is installed (a Strawberry extension with a ``resolve`` hook, such
as tracing), since middleware must see every field.

A subtree completed from a plan once its resolver's awaitable is done (a tenant's page) is
encoded to JSON there and then when other such fields are still waiting for theirs
(``Context.encode_early``, set by the HTTP view, whose encoder is orjson): the answer's
encoder then copies its bytes (``orjson.Fragment``). When tenants are read concurrently, each
one's page is encoded while the slowest is still on the wire, instead of all of them after
it. The last one to complete is left to the answer's encoder: encoding it early would only
add a copy. Never with a directive in the document (``@defer`` and ``@stream`` deliver parts
of a subtree later).
"""

from __future__ import annotations

import itertools
import keyword
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Final

import orjson
from graphql import (
    BREAK,
    FieldNode,
    GraphQLError,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

READY: Final = "app.ready"
"""Field metadata naming the attribute that holds the field's value when it was prefetched
(``None`` when it was not: the resolver then runs as usual)."""

_MISS: Final = object()
_SKIP_INCLUDE: Final = frozenset({"skip", "include"})
_PASS_THROUGH: Final = (GraphQLString, GraphQLID)  # a str coerces to itself
_INLINE_DEPTH: Final = 8  # deeper sub-plans become calls (Python caps nested blocks at 20)
_SITES: Final = itertools.count()  # memo sites, unique across compiled functions

Completer = Callable[[Any, dict[int, Any]], Any]
FieldDetailsList = list[FieldDetails]


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    attr: str | None  # None: __typename, which is ``constant``
    constant: str | None
    ready: bool  # a prefetched value: None means "not there", not null
    non_null: bool
    is_list: bool
    item_non_null: bool
    leaf: GraphQLLeafType | None
    plan: _Plan | None


@dataclass(frozen=True, slots=True)
class _Plan:
    cls: type | None  # checked when the type has is_type_of
    fields: tuple[_Field, ...]


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing ready objects (and lists of them) from a plan."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._fast = manager is None or not manager.middlewares
        self._plans: dict[tuple[str, int], tuple[FieldDetailsList, _Plan | None]] = {}
        self._lasting = _lasting_plans(self.operation, self.fragments)
        # Compiled functions by plan (held in _plans, so ids stay unique): a plan tree is
        # hashed for the process-wide cache once per operation, not once per list.
        self._completers: dict[tuple[int, bool | None], Completer] = {}
        # Objects completed inside lists, per list site: a page names the same few hundred
        # groups thousands of times, and a completed object's dict is the same each time.
        self._memo: dict[int, Any] = {}
        # The last value a plan completed, whether an awaited one may be encoded at once, and
        # the paths (by id) of the awaited fields still waiting.
        self._planned: Any = None
        self._waiting: set[int] = set()
        self._encode_early = (
            self._fast
            and self._lasting is not None
            and getattr(self.context_value, "encode_early", False) is True
        )

    # -- graphql-core hooks --------------------------------------------------------------

    def build_response(self, data: dict[str, Any] | None) -> Any:
        # The operation is complete. The executor sits in reference cycles of graphql-core's
        # making, so it lets go of the memo (every dict of the answer) and the plans here, for
        # reference counting to free them rather than the cycle collector. The memo goes to
        # the context, which drops it once the answer is written: freeing ~2,500 dicts and
        # lists takes a millisecond or two that the client need not wait for.
        keep = getattr(self.context_value, "keep_until_closed", None)
        if keep is not None:
            keep(self._memo)
        self._memo = {}
        self._planned = None
        self._plans.clear()
        self._completers.clear()
        return super().build_response(data)

    async def complete_awaitable_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if not self._encode_early:
            return await super().complete_awaitable_value(
                return_type, field_details_list, info, path, result, position_context
            )
        waiting = self._waiting
        waiting.add(id(path))  # the Path is alive while its field completes
        try:
            completed = await super().complete_awaitable_value(
                return_type, field_details_list, info, path, result, position_context
            )
        finally:
            waiting.discard(id(path))
        if completed is not None and completed is self._planned and _others(waiting, path):
            self._planned = None
            return orjson.Fragment(orjson.dumps(completed))
        return completed

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        out = self._from_plan(return_type, field_details_list, result, None)
        if out is not _MISS:
            return out  # type: ignore[no-any-return]
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        non_null = isinstance(item_type, GraphQLNonNull)
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(named, GraphQLObjectType) and isinstance(items, list | tuple):
            out = self._from_plan(named, field_details_list, items, non_null)
            if out is not _MISS:
                return out  # type: ignore[no-any-return]
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    # -- plans ---------------------------------------------------------------------------

    def _from_plan(
        self,
        type_: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        value: Any,
        list_of: bool | None,
    ) -> Any:
        """``value`` completed from its plan (an object, or with ``list_of`` a list of them),
        or ``_MISS`` when there is no plan or the value does not fit it."""
        if not self._fast:
            return _MISS
        plan = self._plan(type_, field_details_list)
        if plan is None:
            return _MISS
        out = self._planned = _attempt(self._completer(plan, list_of), value, self._memo)
        return out

    def _completer(self, plan: _Plan, list_of: bool | None) -> Completer:
        """The compiled function of an object (``list_of`` None) or of a list of them
        (``list_of``: whether items are non-null)."""
        key = (id(plan), list_of)
        completer = self._completers.get(key)
        if completer is None:
            completer = _compiled(plan) if list_of is None else _compiled_list(plan, list_of)
            self._completers[key] = completer
        return completer

    def _plan(self, type_: GraphQLObjectType, field_details_list: FieldDetailsList) -> _Plan | None:
        # Keyed like graphql-core's own subfield memo: the list is kept alive with its plan,
        # so its id is not reused during this operation.
        key = (type_.name, id(field_details_list))
        held = self._plans.get(key)
        if held is None:
            held = self._plans[key] = (
                field_details_list,
                self._lasting_plan(type_, field_details_list),
            )
        return held[1]

    def _lasting_plan(
        self, type_: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Plan | None:
        """The plan kept with the operation when its document allows (see the module's
        docstring), keyed by the type and the field nodes, which the entry keeps alive."""
        plans = self._lasting
        if plans is None:
            return self._compile(type_, field_details_list)
        nodes = tuple(details.node for details in field_details_list)
        key = (type_, *map(id, nodes))
        entry = plans.get(key)
        if entry is None:
            entry = plans[key] = (nodes, self._compile(type_, field_details_list))
        return entry[1]

    def _compile(
        self, type_: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Plan | None:
        if any(not _plain_node(details) for details in field_details_list):
            return None
        grouped, defer_usages, _ = self.collect_subfields(type_, field_details_list)
        if defer_usages:
            return None
        fields: list[_Field] = []
        for key, group in grouped.items():
            field = self._compile_field(type_, key, group)
            if field is None:
                return None
            fields.append(field)
        return _Plan(_type_check(type_), tuple(fields))

    def _compile_field(
        self, parent: GraphQLObjectType, key: str, group: FieldDetailsList
    ) -> _Field | None:
        if any(not _plain_node(details) or details.node.arguments for details in group):
            return None
        name = group[0].node.name.value
        if name == "__typename":
            return _Field(key, None, parent.name, False, True, False, False, None, None)
        field_def = parent.fields.get(name)
        if field_def is None:
            return None
        attr, ready = _reader(field_def.resolve, field_def.extensions)
        if attr is None:
            return None
        non_null, is_list, item_non_null, named = _shape(field_def.type)
        if isinstance(named, GraphQLObjectType):
            plan = self._plan(named, group)
            if plan is None:
                return None
            return _Field(key, attr, None, ready, non_null, is_list, item_non_null, None, plan)
        if isinstance(named, GraphQLLeafType):
            return _Field(key, attr, None, ready, non_null, is_list, item_non_null, named, None)
        return None  # nested lists, interfaces, unions: the ordinary way


LASTING_OPERATIONS: Final = 256
"""Operations whose plans are kept (as many as documents the parse cache keeps; when full, it
starts over). Each entry holds its operation, whose tokens hold the document's text, so the
bound is on documents, whatever clients send."""
_Plans = dict[tuple[Any, ...], tuple[tuple[FieldNode, ...], _Plan | None]]
_LASTING: dict[int, tuple[OperationDefinitionNode, _Plans | None]] = {}


class _FindDirective(Visitor):
    found = False

    def enter_directive(self, *_: Any) -> Any:
        self.found = True
        return BREAK


def _lasting_plans(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> _Plans | None:
    """Where the operation's plans are kept across requests, or ``None`` when its document
    has a directive or fragment variables (worked out once per operation node)."""
    held = _LASTING.get(id(operation))
    if held is not None and held[0] is operation:
        return held[1]
    finder = _FindDirective()
    finder.found = any(fragment.variable_signatures for fragment in fragments.values())
    for node in (operation, *(fragment.definition for fragment in fragments.values())):
        if finder.found:
            break
        visit(node, finder)
    if len(_LASTING) >= LASTING_OPERATIONS:
        _LASTING.clear()
    plans: _Plans | None = None if finder.found else {}
    _LASTING[id(operation)] = (operation, plans)
    return plans


def _shape(type_: GraphQLOutputType) -> tuple[bool, bool, bool, GraphQLOutputType | None]:
    """``(non_null, is_list, item_non_null, named type)``; no named type for nested lists."""
    non_null = isinstance(type_, GraphQLNonNull)
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if not isinstance(type_, GraphQLList):
        return non_null, False, False, type_
    item: GraphQLOutputType = type_.of_type
    item_non_null = isinstance(item, GraphQLNonNull)
    if isinstance(item, GraphQLNonNull):
        item = item.of_type
    return non_null, True, item_non_null, None if isinstance(item, GraphQLList) else item


def _plain_node(details: FieldDetails) -> bool:
    """No directive beyond @skip/@include (already applied), nothing deferred."""
    if details.defer_usage is not None or details.fragment_variable_values is not None:
        return False
    return all(d.name.value in _SKIP_INCLUDE for d in details.node.directives or ())


def _reader(resolve: Any, extensions: dict[str, Any] | None) -> tuple[str | None, bool]:
    """The attribute a plan reads the field from, and whether its value is a prefetch."""
    definition = (extensions or {}).get("strawberry-definition")
    if definition is None:
        return None, False
    if getattr(resolve, "_is_default", False) and definition.default_resolver is getattr:
        return str(definition.python_name), False
    ready = definition.metadata.get(READY)
    if isinstance(ready, str):
        return ready, True
    return None, False


def _type_check(type_: GraphQLObjectType) -> type | None:
    if type_.is_type_of is None:
        return None
    definition = (type_.extensions or {}).get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else object  # object: never matches exactly


def _others(waiting: set[int], path: Path) -> bool:
    """Whether an awaited field other than ``path``'s ancestors is still waiting."""
    ancestors = 0
    above = path.prev
    while above is not None:
        ancestors += id(above) in waiting
        above = above.prev
    return len(waiting) > ancestors


def _attempt(complete: Completer, value: Any, memo: dict[int, Any]) -> Any:
    try:
        return complete(value, memo)
    except Exception:  # e.g. an attribute missing on an unchecked type: the ordinary way
        return _MISS


def _leaf(type_: GraphQLLeafType, value: Any) -> Any:
    try:
        coerced = type_.coerce_output_value(value)
    except (GraphQLError, TypeError, ValueError):
        return _MISS
    return _MISS if coerced is None or coerced is Undefined else coerced


# -- compiling plans ---------------------------------------------------------------------


@lru_cache(maxsize=512)
def _compiled(plan: _Plan) -> Completer:
    """``complete(value, memo)``: the object's dict, or ``_MISS``."""
    source = _Source()
    out = source.object(plan, "value", 1)
    source.line(1, f"return {out}")
    return source.function()


@lru_cache(maxsize=512)
def _compiled_list(plan: _Plan, non_null: bool) -> Completer:
    """``complete(items, memo)``: the list of the items' dicts, or ``_MISS``."""
    source = _Source()
    field = _Field("", "", None, False, True, True, non_null, None, plan)
    source.complete(field, "value", 1)
    source.line(1, "return value")
    return source.function()


class _Source:
    """The source of one completion function, and the globals it is compiled with."""

    def __init__(self) -> None:
        self.prelude: list[str] = []
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"MISS": _MISS}
        self.count = 0

    def function(self) -> Completer:
        body = "\n".join([*self.prelude, *self.lines])
        text = f"def complete(value, memo):\n{body}\n"
        exec(compile(text, "<completion plan>", "exec"), self.names)
        complete: Completer = self.names["complete"]
        return complete

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any, prefix: str) -> str:
        name = self.fresh(prefix)
        self.names[name] = value
        return name

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def read(self, source: str, attr: str) -> str:
        if attr.isidentifier() and not keyword.iskeyword(attr):
            return f"{source}.{attr}"
        return f"getattr({source}, {self.bind(attr, 'A')})"

    def object(self, plan: _Plan, source: str, depth: int) -> str:
        """Lines making the dict of ``source`` (not None); returns the dict's variable."""
        if plan.cls is not None:
            self.line(depth, f"if type({source}) is not {self.bind(plan.cls, 'C')}:")
            self.line(depth + 1, "return MISS")
        entries = []
        for field in plan.fields:
            key = self.bind(field.key, "K")
            if field.attr is None:
                entries.append(f"{key}: {self.bind(field.constant, 'T')}")
                continue
            value = self.fresh("v")
            self.line(depth, f"{value} = {self.read(source, field.attr)}")
            if field.ready or field.non_null:
                self.line(depth, f"if {value} is None:")
                self.line(depth + 1, "return MISS")
                self.complete(field, value, depth)
            else:
                self.line(depth, f"if {value} is not None:")
                self.complete(field, value, depth + 1)
            entries.append(f"{key}: {value}")
        out = self.fresh("o")
        self.line(depth, f"{out} = {{{', '.join(entries)}}}")
        return out

    def complete(self, field: _Field, value: str, depth: int) -> None:
        """Lines replacing ``value`` (not None) by its completed form."""
        if not field.is_list:
            self.single(field, value, depth)
            return
        items, item = self.fresh("l"), self.fresh("i")
        self.line(depth, f"if type({value}) is not list and type({value}) is not tuple:")
        self.line(depth + 1, "return MISS")
        self.line(depth, f"{items} = []")
        self.line(depth, f"for {item} in {value}:")
        self.line(depth + 1, f"if {item} is None:")
        if field.item_non_null:
            self.line(depth + 2, "return MISS")
        else:
            self.line(depth + 2, f"{items}.append(None)")
            self.line(depth + 2, "continue")
        self.single(field, item, depth + 1, item=True)
        self.line(depth + 1, f"{items}.append({item})")
        self.line(depth, f"{value} = {items}")

    def memo_site(self) -> str:
        """A variable holding this site's memo (completed objects by id) for the operation."""
        site = self.fresh("m")
        key = self.bind(next(_SITES), "S")
        self.prelude.append(f"    {site} = memo.get({key})")
        self.prelude.append(f"    if {site} is None:")
        self.prelude.append(f"        {site} = memo[{key}] = {{}}")
        return site

    def single(self, field: _Field, value: str, depth: int, *, item: bool = False) -> None:
        if field.plan is not None:
            if depth >= _INLINE_DEPTH:
                call = self.bind(_compiled(field.plan), "P")
                self.line(depth, f"{value} = {call}({value}, memo)")
            elif item:  # an object in a list: made once per operation, then reused
                site, held = self.memo_site(), self.fresh("h")
                self.line(depth, f"{held} = {site}.get(id({value}))")
                self.line(depth, f"if {held} is not None and {held}[0] is {value}:")
                self.line(depth + 1, f"{value} = {held}[1]")
                self.line(depth, "else:")
                out = self.object(field.plan, value, depth + 1)
                self.line(depth + 1, f"{site}[id({value})] = ({value}, {out})")
                self.line(depth + 1, f"{value} = {out}")
                return
            else:
                self.line(depth, f"{value} = {self.object(field.plan, value, depth)}")
                return
        else:
            assert field.leaf is not None
            if field.leaf in _PASS_THROUGH:
                self.line(depth, f"if type({value}) is not str:")
                depth += 1
            self.line(depth, f"{value} = {self.bind(partial(_leaf, field.leaf), 'L')}({value})")
        self.line(depth, f"if {value} is MISS:")
        self.line(depth + 1, "return MISS")
