"""A cheaper rollback snapshot for moto's TransactWriteItems, in the benchmark process only.

moto (5.x) keeps a rollback copy of a transaction's table by calling
`copy.deepcopy(table)` once for every action the transaction holds: a
100-action transaction copies the whole table 100 times, so archiving
thousands of items is quadratic in moto. DynamoDB has no such cost, and a
benchmark that kept it would time moto, not the archiver.

The patch keeps moto's transaction code as it is and changes only what it
snapshots: while a transaction runs, `deepcopy` of a Table returns the table
itself, and the items the transaction names are deep-copied beforehand
instead. If moto rolls back (a failed condition, a validation error), the
patch puts those items back as they were. Outcome, conditions and
cancellation reasons are moto's own; only the cost of the snapshot changes,
from the whole table per action to the touched items per transaction.
tests/integration/test_benchmarks.py checks that a cancelled transaction still leaves
the table untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import types
from collections.abc import Iterator
from typing import Any

_IN_TRANSACTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "bench_in_transaction", default=False
)


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _snapshot(
    backend: Any, transact_items: list[dict[str, Any]]
) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash, range, deep copy of the item or None) for every item the transaction names."""
    saved = []
    for action in transact_items:
        try:
            op_type, op = next(iter(action.items()))
            table = backend.get_table(op["TableName"])
            hash_value, range_value = _key_of(table, op_type, op)
            item = table.get_item(hash_value, range_value)
        except Exception:  # noqa: S112 - malformed actions are moto's to reject
            continue
        saved.append((table, hash_value, range_value, copy.deepcopy(item)))
    return saved


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


@contextlib.contextmanager
def cheap_transaction_snapshots() -> Iterator[None]:
    """Patch moto's DynamoDB transactions for the duration (see the module docstring)."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    original_transact = models.DynamoDBBackend.transact_write_items
    original_copy = models.copy

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if _IN_TRANSACTION.get() and isinstance(value, Table):
            return value  # rolled back item by item by transact_write_items below
        return copy.deepcopy(value, memo)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _snapshot(backend, transact_items)
        token = _IN_TRANSACTION.set(True)
        try:
            original_transact(backend, transact_items)
        except BaseException:
            _restore(saved)
            raise
        finally:
            _IN_TRANSACTION.reset(token)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        models.DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        models.copy = original_copy


_QUEUE_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


@contextlib.contextmanager
def cheap_queue_counts() -> Iterator[None]:
    """Skip moto's message counts on every SendMessage, for the duration.

    moto (5.x) builds a queue's attributes, its approximate message counts included, for
    every message sent, and each count walks every message in the queue: enqueueing
    10,000 new items is quadratic in moto (about ten minutes of the benchmark). SQS has
    no such cost. The enqueueing rows count requests, not time, and nothing in the run
    reads the counts, so while patched they read 0.
    """
    from moto.sqs.models import Queue

    saved = {name: vars(Queue)[name] for name in _QUEUE_COUNTS}
    for name in _QUEUE_COUNTS:
        setattr(Queue, name, property(lambda _queue: 0))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Queue, name, value)
