"""What one GraphQL operation may ask for, and how long it may take (the ``[limits]`` table).

Before execution (:class:`CheckedDocument`): the token limit, Strawberry's depth and alias
limiters, a cost rule (list sizes x depth, :func:`cost_rule`) and, when configured off,
introspection. Every error they report is ``BAD_USER_INPUT``:
:func:`app.schema.extensions.finish` gives that code to each error raised before execution (no
path, no exception of ours: syntax, validation, variable coercion).

During execution: :class:`GatewaySchema` opens an :class:`~app.resilience.OperationScope`, so
each upstream request is counted against ``max_upstream_requests`` and cut off at the deadline
(slow tenants' fields become ``UPSTREAM_TIMEOUT`` while the others keep their data); a safety
net cancels the whole operation shortly after the deadline, whatever is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache, partial
from inspect import isawaitable
from typing import Any

import orjson
import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    ValidationContext,
    ValidationRule,
    VariableNode,
    execute,
    get_named_type,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language import Visitor
from strawberry.exceptions import MissingQueryError
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, validate_document
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from app.adapters.speculation import SPECULATION, Speculation
from app.config import Limits
from app.errors import BadUserInput, UpstreamTimeout
from app.observability.metrics import observe_speculation
from app.resilience import operation_scope
from app.schema.execution import GatewayExecutor
from app.schema.extensions import GatewayOperation, finish, refused, with_partial_errors

UNBOUNDED_LIST = 10
"""What a list without ``first`` (a group's members, a member's groups) is assumed to hold."""
DEADLINE_GRACE = 0.25
"""The safety net fires this long after the deadline, so upstream cut-offs win the race."""
BAD_USER_INPUT = BadUserInput.code


# -- cost ------------------------------------------------------------------------------------


def _first(field: FieldNode, default: Any, variables: Mapping[str, Any]) -> int | None:
    """The ``first`` argument as sent (literal or variable), else the schema's default."""
    value = default
    for arg in field.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            value = int(arg.value.value)
        elif isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _CostWalker:
    def __init__(self, rule: ValidationRule, variables: Mapping[str, Any]) -> None:
        self.context = rule.context
        self.variables = variables

    def selection_set(
        self, parent: Any, node: SelectionSetNode, paged: bool, fragments: frozenset[str]
    ) -> int:
        """Estimated fields resolved under ``node``: each field is 1, times its list size."""
        total = 0
        schema = self.context.schema
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, paged, fragments)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(inner, selection.selection_set, paged, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in fragments:  # unknown or cyclic: other rules say so
                    continue
                inner = schema.get_type(fragment.type_condition.name.value)
                total += self.selection_set(
                    inner, fragment.selection_set, paged, fragments | {name}
                )
        return total

    def field(self, parent: Any, node: FieldNode, paged: bool, fragments: frozenset[str]) -> int:
        if node.name.value.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0  # introspection is limited by the depth and token limits alone
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0  # an unknown field: FieldsOnCorrectTypeRule reports it
        size, is_paged = 1, False
        if "first" in definition.args:
            first = _first(node, definition.args["first"].default_value, self.variables)
            size, is_paged = max(1, first if first is not None else UNBOUNDED_LIST), True
        elif _is_list(definition.type) and not paged:
            size = UNBOUNDED_LIST
        below = 0
        if node.selection_set is not None:
            below = self.selection_set(
                get_named_type(definition.type), node.selection_set, is_paged, fragments
            )
        return size * (1 + below)


def cost_rule(max_cost: int, variables: Callable[[], Mapping[str, Any]]) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost exceeds ``max_cost``."""

    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            root = self.context.schema.get_root_type(node.operation)
            cost = _CostWalker(self, variables()).selection_set(
                root, node.selection_set, False, frozenset()
            )
            if cost > max_cost:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"'{name}' is too expensive: its estimated cost {cost} exceeds "
                        f"{max_cost} (cost is each field times the list sizes above it; "
                        f"lists without `first` count as {UNBOUNDED_LIST}): ask for fewer "
                        "items or less nesting",
                        node,
                        extensions={"code": BAD_USER_INPUT},
                    )
                )
            return Visitor.SKIP

    return QueryCostRule


VALIDATION_CACHE_SIZE = 256
"""Distinct documents whose verdict is remembered (bounded: query texts come from clients)."""


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _parsed(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _document_errors(
    schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[GraphQLError, ...]:
    """The errors of every rule that reads the document alone, once per distinct text."""
    return tuple(validate_document(schema, parse(query), rules))


def _cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    max_cost: int,
    variables: Mapping[str, Any] | None,
) -> list[GraphQLError]:
    """The cost rule on each operation, called directly: it reads the operation's root
    selection itself, so visiting the whole document for it would be wasted work."""
    errors: list[GraphQLError] = []
    context = ValidationContext(schema, document, TypeInfo(schema), errors.append)
    rule = cost_rule(max_cost, lambda: variables or {})(context)
    enter = rule.get_enter_leave_for_kind("operation_definition").enter
    for definition in document.definitions:
        if enter is not None and isinstance(definition, OperationDefinitionNode):
            enter(definition)
    return errors


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _cost_reads_variables(query: str) -> bool:
    """Whether any ``first`` of the document is a variable: the only way a variable changes
    the cost (a document sent with variables for ids alone, like ``node(id: $id)``, costs
    what its text says)."""
    document = _parsed(query, None)
    pending: list[SelectionSetNode | None] = [
        d.selection_set for d in document.definitions if isinstance(d, ExecutableDefinitionNode)
    ]
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode) and any(
                arg.name.value == "first" and isinstance(arg.value, VariableNode)
                for arg in selection.arguments or ()
            ):
                return True
            pending.append(getattr(selection, "selection_set", None))
    return False


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _static_cost_errors(
    schema: GraphQLSchema, query: str, max_cost: int
) -> tuple[GraphQLError, ...]:
    """The cost rule's verdict on a document sent without variables."""
    return tuple(_cost_errors(schema, _parsed(query, None), max_cost, None))


class CheckedDocument(SchemaExtension):
    """Parse and validate each distinct document once, within the token limit.

    Parsing: a document is parsed once per text (graphql-core never mutates a parsed one);
    one that does not parse is not cached, so Strawberry parses it itself and reports the
    syntax error (or the token limit, which it reads from ``parse_options``) the usual way.

    Validation was 38% of the gateway's CPU on a small query (bench scenario 3). graphql-core's
    rules and the depth, alias and introspection limits depend on the document alone, so
    their verdict is cached by query text. The cost rule reads the operation's variables
    (``first: $n``), so when a ``first`` is a variable it runs on every request, on its own,
    without a visit; otherwise its verdict is cached by text too.
    """

    def __init__(
        self, max_tokens: int, rules: tuple[type[ASTValidationRule], ...], max_cost: int
    ) -> None:
        self.max_tokens = max_tokens
        self.rules = rules
        self.max_cost = max_cost

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        ec.parse_options["max_tokens"] = self.max_tokens
        if ec.query and ec.graphql_document is None:
            with contextlib.suppress(GraphQLError):  # left to Strawberry's own parse to report
                ec.graphql_document = _parsed(ec.query, self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query is not None and ec.graphql_document is not None:
            ec.pre_execution_errors = self.errors(
                ec.schema._schema, ec.query, ec.graphql_document, ec.variables, ec.validation_rules
            )
        yield

    def errors(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        validation_rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """The document's errors: the specified rules and the limits (cached by text), then
        the cost (cached by text too unless a ``first`` is a variable)."""
        errors = list(_document_errors(schema, query, (*validation_rules, *self.rules)))
        if not errors and variables and _cost_reads_variables(query):
            errors = _cost_errors(schema, document, self.max_cost, variables)
        elif not errors:  # the cost is the document's own: worked out once per text
            errors = list(_static_cost_errors(schema, query, self.max_cost))
        return errors


def limit_rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """The document-only limit rules, made once per schema, so the validation cache
    recognises them from one request to the next."""
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not limits.introspection:
        rules += DisableIntrospection().validation_rules
    return tuple(rules)


# -- the schema: deadline, upstream budget, the gateway's steps ---------------------------------


def _encoded_ahead(outcome: GraphQLExecutionResult, context: Any) -> GraphQLExecutionResult:
    """``outcome`` with its data encoded to JSON now (``orjson.Fragment``, which the
    answer's encoder copies), where the HTTP view encodes with orjson (``encode_early``):
    an operation run ahead is usually done before its reads are back."""
    data = outcome.data
    if not data or getattr(context, "encode_early", False) is not True:
        return outcome
    with contextlib.suppress(orjson.JSONEncodeError):  # then left to the answer's encoder
        outcome.data = {key: orjson.Fragment(orjson.dumps(value)) for key, value in data.items()}
    return outcome


class GatewaySchema(strawberry.Schema):
    """A Strawberry schema enforcing ``limits``: each operation's document is checked before
    it runs, and it runs inside its deadline and upstream request budget.

    The gateway's own steps (:class:`CheckedDocument`, and :mod:`app.schema.extensions`:
    authentication, partial errors, codes, metrics, masking) are Strawberry extensions, and
    ``extensions`` (tracing) go between them. With no such extension, :meth:`execute` runs
    the same steps itself, in the same order, without Strawberry's extension machinery
    (context managers per hook and extension, ~10% of a small query's CPU): parse (cached),
    operation type, checks, authentication gate, graphql-core's execution, partial errors,
    then :func:`~app.schema.extensions.finish`.
    """

    def __init__(
        self,
        limits: Limits,
        *args: Any,
        extensions: Sequence[Callable[[], SchemaExtension]] = (),
        **kwargs: Any,
    ) -> None:
        self.limits = limits
        checks = partial(CheckedDocument, limits.max_tokens, limit_rules(limits), limits.max_cost)
        self.checks = checks()  # the own path's checks; Strawberry's path makes its own
        kwargs["extensions"] = [checks, *extensions, GatewayOperation]
        kwargs.setdefault("execution_context_class", GatewayExecutor)
        super().__init__(*args, **kwargs)
        self.own_steps = not extensions

    async def execute(  # Strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        limits = self.limits
        deadline = limits.request_deadline_seconds
        with operation_scope(deadline, limits.max_upstream_requests):
            try:
                async with asyncio.timeout(deadline + DEADLINE_GRACE):
                    if self.own_steps:
                        return await self._run(
                            ExecutionContext(
                                query=query,
                                schema=self,
                                allowed_operations=DEFAULT_ALLOWED_OPERATION_TYPES
                                if allowed_operation_types is None
                                else allowed_operation_types,
                                context=context_value,
                                root_value=root_value,
                                variables=variable_values,
                                provided_operation_name=operation_name,
                                operation_extensions=operation_extensions,
                            )
                        )
                    return await super().execute(
                        query,
                        variable_values,
                        context_value,
                        root_value,
                        operation_name,
                        allowed_operation_types,
                        operation_extensions,
                    )
            except TimeoutError:
                error = UpstreamTimeout(f"the request did not complete within {deadline:g} s")
                return ExecutionResult(
                    data=None, errors=[GraphQLError(error.message, original_error=error)]
                )

    async def _run(self, ec: ExecutionContext) -> ExecutionResult:
        started = time.perf_counter()
        result = await self._result(ec)
        ec.result = result
        finish(ec, started)
        return result

    async def _result(self, ec: ExecutionContext) -> ExecutionResult:
        """The operation's result before :func:`finish`; raises what Strawberry's view turns
        into HTTP errors (no query, no such operation, an operation type not allowed)."""
        query = ec.query
        if not query:
            raise MissingQueryError
        try:
            document = ec.graphql_document = _parsed(query, self.limits.max_tokens)
        except Exception as exc:  # Strawberry reports any parse failure as an error
            return self._failed(ec, exc)
        try:
            operation_type = ec.operation_type
        except RuntimeError as exc:
            raise CannotGetOperationTypeError(ec.operation_name) from exc
        if operation_type not in ec.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        errors = self.checks.errors(
            self._schema, query, document, ec.variables, ec.validation_rules
        )
        if errors:
            return self._failed(ec, *errors)
        error = refused(ec.context)
        if error is not None:
            return self._failed(ec, error)
        ahead = self.limits.speculate and operation_type is OperationType.QUERY
        speculation = Speculation() if ahead else None
        try:
            outcome = await self._execute(ec, document, speculation)
            if speculation is not None and speculation.used:
                outcome = _encoded_ahead(outcome, ec.context)  # while the reads are out
                if await speculation.confirmed():
                    observe_speculation("kept")
                else:  # an upstream answered otherwise: again, on what it answered
                    observe_speculation("redone")
                    speculation.replaying()
                    ec.context.restart()
                    outcome = await self._execute(ec, document, speculation)
        except Exception as exc:  # reported as an error, then masked
            return self._failed(ec, exc)
        finally:
            if speculation is not None:
                speculation.cancel()
        if outcome.errors:
            self.process_errors(outcome.errors, ec)  # logged before masking
        return ExecutionResult(
            data=outcome.data, errors=with_partial_errors(outcome.errors, ec.context)
        )

    async def _execute(
        self, ec: ExecutionContext, document: DocumentNode, speculation: Speculation | None
    ) -> GraphQLExecutionResult:
        """graphql-core's execution of the checked document, reads answered ahead where
        ``speculation`` may (:mod:`app.adapters.speculation`)."""
        token = SPECULATION.set(speculation)
        try:
            outcome = execute(
                self._schema,
                document,
                root_value=ec.root_value,
                variable_values=ec.variables,
                operation_name=ec.operation_name,
                context_value=ec.context,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                executor_class=self.execution_context_class,
                operation_extensions=ec.operation_extensions,
            )
            if isawaitable(outcome):
                outcome = await outcome
        finally:
            SPECULATION.reset(token)
        return outcome

    def _failed(self, ec: ExecutionContext, *raised: Exception) -> ExecutionResult:
        errors = [
            err if isinstance(err, GraphQLError) else GraphQLError(str(err), original_error=err)
            for err in raised
        ]
        self.process_errors(errors, ec)
        return ExecutionResult(data=None, errors=errors)
