"""Helpers shared by the ``ops`` modules: chunked IN lists, bulk updates, existence checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from actors.server.errors import UnknownId

__all__ = ["IN_CHUNK", "Lock", "chunks", "dumps", "executemany_insert", "executemany_update",
           "require_row"]

IN_CHUNK = 5000
T = TypeVar("T")
Lock = Literal["update", "share"] | None


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Split ``items`` for IN lists that stay under every backend's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Canonical JSON text for the server's JSON columns (``json.dumps(value, sort_keys=True,
    separators=(",", ":"))``, without building an encoder per call)."""
    return _CANONICAL.encode(value)


def executemany_update(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """``UPDATE table SET cols WHERE id = :id`` for many rows, grouped by their column set.

    One executemany per group, sent through ``exec_driver_sql`` with the statement compiled
    once per group: SQLAlchemy's per-row parameter processing cost more than SQLite's own
    work. Values go through each column type's bind processor, as ``execute`` would do, once
    per distinct value (a batch's dates are mostly one ``tx.now``)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    for cols, group in groups.items():
        _send_many(conn, table, update(table).where(table.c.id == bindparam("b_id"))
                   .values({c: bindparam(f"b_{c}") for c in cols}), group)


def executemany_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT INTO table`` many rows that all have the same keys, without RETURNING; as
    fast as ``executemany_update``, with the same stored values as ``insert``."""
    if rows:
        _send_many(conn, table, insert(table).values(
            {c: bindparam(f"b_{c}") for c in sorted(rows[0])}), rows)


def _send_many(conn: Connection, table: Table, stmt: Any, rows: Sequence[dict[str, Any]]
               ) -> None:
    """One executemany of ``stmt`` (binds named ``b_<column>``) over ``rows``."""
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect)
    names = list(compiled.positiontup or compiled.binds)
    keyed = [(name[2:], _converter(table, name[2:], dialect)) for name in names]
    if compiled.positional:
        params: list[Any] = [tuple(row[k] if conv is None else conv(row[k])
                                   for k, conv in keyed) for row in rows]
    else:
        params = [{f"b_{k}": row[k] if conv is None else conv(row[k]) for k, conv in keyed}
                  for row in rows]
    conn.exec_driver_sql(compiled.string, params)


def _converter(table: Table, column: str, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's bind processor, remembering its result for hashable values."""
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = (type(value), value)  # 1, 1.0 and True are equal keys, but not equal values
        try:
            return memo[key]
        except KeyError:
            memo[key] = out = process(value)
            return out
        except TypeError:  # unhashable (a JSON value)
            return process(value)
    return convert


def require_row(conn: Connection, table: Table, row_id: int, what: str,
                columns: Sequence[str] = ("id",), lock: Lock = None) -> Any:
    """The row ``row_id`` of ``table`` (selected ``columns``), or UnknownId naming it.

    ``lock``: ``"update"`` (``FOR UPDATE``: this transaction will change the row) or
    ``"share"`` (``FOR SHARE``: nobody may change it until this transaction ends);
    PostgreSQL only, SQLite's writers are serialised anyway."""
    stmt = select(*(table.c[c] for c in columns)).where(table.c.id == row_id)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    row = conn.execute(stmt).first()
    if row is None:
        raise UnknownId(f"{what} {row_id} does not exist", location=f"{what.replace(' ', '_')}_id")
    return row
