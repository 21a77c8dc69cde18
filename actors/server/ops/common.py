"""Helpers shared by the ``ops`` modules: chunked IN lists, bulk updates, existence checks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Table, bindparam, select, update

from actors.server.errors import UnknownId

__all__ = ["IN_CHUNK", "Lock", "chunks", "dumps", "executemany_update", "require_row"]

IN_CHUNK = 5000
T = TypeVar("T")
Lock = Literal["update", "share"] | None


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Split ``items`` for IN lists that stay under every backend's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def dumps(value: Any) -> str:
    """Canonical JSON text for the server's JSON columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def executemany_update(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """``UPDATE table SET cols WHERE id = :id`` for many rows, grouped by their column set."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        cols = tuple(sorted(k for k in row if k != "id"))
        groups.setdefault(cols, []).append({f"b_{k}": v for k, v in row.items()})
    for cols, params in groups.items():
        stmt = (update(table).where(table.c.id == bindparam("b_id"))
                .values({c: bindparam(f"b_{c}") for c in cols}))
        conn.execute(stmt, params)


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
