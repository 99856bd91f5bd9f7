"""The sandbox's state: JSON documents in one SQLite table, in memory or in a file.

Each document is addressed by ``(kind, tenant, id)``; ``tenant`` is ``""`` for documents that belong to no
organisation (clients, codes, tokens, connections). Documents keep their insertion order. One re-entrant lock
guards the connection: callers that read-modify-write hold :attr:`Store.lock` for the whole operation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (kind, tenant, id)
);
"""


class Store:
    """Documents by kind, tenant and id, kept in SQLite (``db_path`` or memory)."""

    def __init__(self, db_path: str | None = None) -> None:
        self.db_path = db_path
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(db_path or ":memory:", check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL" if db_path else "PRAGMA journal_mode=MEMORY")
        self._conn.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and make the writes inside atomic: all kept, or all undone when an exception
        leaves the block. Nested blocks are savepoints, so an inner failure undoes only the inner writes."""
        with self.lock:
            self._depth += 1
            name = f"sp{self._depth}"
            self._conn.execute("BEGIN" if self._depth == 1 else f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK" if self._depth == 1 else f"ROLLBACK TO {name}")
                if self._depth > 1:
                    self._conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._depth -= 1
            self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def get(self, kind: str, tenant: str, id_: str) -> dict[str, Any] | None:
        """The document, or None."""
        with self.lock:
            row = self._conn.execute(
                "SELECT body FROM docs WHERE kind=? AND tenant=? AND id=?", (kind, tenant, id_)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, tenant: str, id_: str, body: dict[str, Any]) -> None:
        """Insert or replace a document (a replaced document keeps its place in the order)."""
        text = json.dumps(body)
        with self.lock:
            self._conn.execute(
                "INSERT INTO docs (kind, tenant, id, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, tenant, id) DO UPDATE SET body=excluded.body",
                (kind, tenant, id_, text),
            )

    def delete(self, kind: str, tenant: str, id_: str) -> bool:
        """Remove a document; True when it existed."""
        with self.lock:
            cur = self._conn.execute(
                "DELETE FROM docs WHERE kind=? AND tenant=? AND id=?", (kind, tenant, id_)
            )
        return cur.rowcount > 0

    def all(self, kind: str, tenant: str | None = None) -> list[dict[str, Any]]:
        """The documents of a kind (of one tenant when given), oldest first."""
        with self.lock:
            if tenant is None:
                rows = self._conn.execute("SELECT body FROM docs WHERE kind=? ORDER BY seq", (kind,))
            else:
                rows = self._conn.execute(
                    "SELECT body FROM docs WHERE kind=? AND tenant=? ORDER BY seq", (kind, tenant)
                )
            return [json.loads(r[0]) for r in rows.fetchall()]

    def items(self, kind: str, tenant: str) -> list[tuple[str, dict[str, Any]]]:
        """``(id, document)`` pairs of a kind and tenant, oldest first."""
        with self.lock:
            rows = self._conn.execute(
                "SELECT id, body FROM docs WHERE kind=? AND tenant=? ORDER BY seq", (kind, tenant)
            ).fetchall()
        return [(key, json.loads(body)) for key, body in rows]

    def count(self, kind: str) -> int:
        """How many documents of a kind exist."""
        with self.lock:
            return self._conn.execute("SELECT COUNT(*) FROM docs WHERE kind=?", (kind,)).fetchone()[0]

    def clear(self, kinds: Iterable[str] | None = None) -> None:
        """Remove every document (or every document of the given kinds)."""
        with self.lock:
            if kinds is None:
                self._conn.execute("DELETE FROM docs")
            else:
                for kind in kinds:
                    self._conn.execute("DELETE FROM docs WHERE kind=?", (kind,))
