"""The rows behind approvals and per-team settings (tables made by `006_approvals`
in `bot.store`).

Kept apart from `bot.store` so approvals read as one piece; it uses the same database
and the same transactions. Uniqueness does the guarding: one pending request per set of
invoices, and one decision per person per request, so a repeated click is a no-op.
"""

from __future__ import annotations

import json
from typing import Any

from bot.store import Store, now_iso

Row = dict[str, Any]
_JSON = ("invoice_ids", "invoice_numbers", "approvers", "credits")


class ApprovalStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def _rows(self, sql: str, args: list[Any]) -> list[Row]:
        cursor = self.db.execute(sql, args)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]

    # team settings ----------------------------------------------------------------

    def setting(self, team_id: str, key: str) -> Any:
        row = self.db.execute(
            "SELECT value FROM team_settings WHERE team_id = ? AND key = ?", [team_id, key]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_setting(self, team_id: str, key: str, value: Any, user_id: str) -> None:
        self.db.execute(
            "INSERT INTO team_settings (team_id, key, value, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, key) DO UPDATE SET "
            "value = excluded.value, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            [team_id, key, json.dumps(value), user_id, now_iso()],
        )

    # requests ---------------------------------------------------------------------

    def insert(self, request: Row, binding_key: str, invoices_key: str) -> bool:
        """False when a request for the same invoices is already pending."""
        row = {k: v for k, v in request.items() if k != "approved_by"}
        amount = row.pop("amount")
        row.update(amount=str(amount["amount"]), currency=amount["currency"])
        row.update({k: json.dumps(row[k]) for k in _JSON})
        row.update(binding_key=binding_key, invoices_key=invoices_key)
        cursor = self.db.execute(
            f"INSERT INTO approval_requests ({', '.join(row)}) "  # noqa: S608 - our columns
            f"VALUES ({', '.join('?' for _ in row)}) ON CONFLICT DO NOTHING",
            list(row.values()),
        )
        return cursor.rowcount == 1

    def _request(self, row: Row) -> Row:
        row = {**row, **{k: json.loads(row[k]) for k in _JSON if row.get(k) is not None}}
        if row.get("credits") is None:  # asked before 027
            row.pop("credits", None)
        row["amount"] = {"amount": row["amount"], "currency": row.pop("currency")}
        row["approved_by"] = self.approvers_of(row["id"])
        return row

    def get(self, request_id: str) -> Row | None:
        rows = self._rows("SELECT * FROM approval_requests WHERE id = ?", [request_id])
        return self._request(rows[0]) if rows else None

    def latest(self, team_id: str, invoices_key: str) -> Row | None:
        rows = self._rows(
            "SELECT * FROM approval_requests WHERE team_id = ? AND invoices_key = ? "
            "ORDER BY created_at DESC LIMIT 1",
            [team_id, invoices_key],
        )
        return self._request(rows[0]) if rows else None

    def for_user(self, team_id: str, user_id: str, now: float, limit: int = 5) -> list[Row]:
        """Pending requests this person may decide or made, still in time at `now`,
        newest first."""
        approvers = self.db.json_values("r.approvers", "a")
        rows = self._rows(
            "SELECT r.* FROM approval_requests r WHERE r.team_id = ? AND r.state = 'pending' "  # noqa: S608
            f"AND r.expires_at > ? AND (r.requester = ? OR EXISTS (SELECT 1 FROM {approvers} "
            "WHERE a.value = ?)) ORDER BY r.created_at DESC LIMIT ?",
            [team_id, now, user_id, user_id, limit],
        )
        return [self._request(row) for row in rows]

    def move(self, request_id: str, source: str, target: str, **fields: Any) -> bool:
        """Compare-and-set of a request's state; False (and no change) if it moved on."""
        assignments = {"state": target, **fields}
        placeholders = ", ".join(f"{column} = ?" for column in assignments)
        cursor = self.db.execute(
            f"UPDATE approval_requests SET {placeholders} WHERE id = ? AND state = ?",  # noqa: S608 - our columns
            [*assignments.values(), request_id, source],
        )
        return cursor.rowcount == 1

    def expire(self, request_id: str, source: str, now: float) -> bool:
        """An approval keeps the time it was given (`decided_at`): the payments made
        under it are found by it (`approved_before`) long after it ran out."""
        cursor = self.db.execute(
            "UPDATE approval_requests SET state = 'expired', "
            "decided_at = COALESCE(decided_at, ?) "
            "WHERE id = ? AND state = ? AND expires_at <= ?",
            [now, request_id, source, now],
        )
        return cursor.rowcount == 1

    def due_to_expire(self, now: float, limit: int = 50) -> list[Row]:
        """Requests whose time ran out, oldest first, but for those whose expiry failed
        and waits for its retry (`retry_expiry`)."""
        return self._rows(
            "SELECT id, expires_at, expire_after FROM approval_requests WHERE state IN "
            "('pending', 'approved') AND expires_at <= ? "
            "AND (expire_after IS NULL OR expire_after <= ?) ORDER BY expires_at LIMIT ?",
            [now, now, limit],
        )

    def retry_expiry(self, request_id: str, at: float) -> None:
        self.db.execute(
            "UPDATE approval_requests SET expire_after = ? WHERE id = ?", [at, request_id]
        )

    def undelivered(self, before: float, now: float, lease: float, limit: int = 20) -> list[str]:
        """Pending requests whose messages never all went out, taken for `lease` seconds:
        ones made before `before` (their delivery was cut short), and ones whose retry
        (`retry_delivery`) is due. Taken by one process, so an approver is sent one DM."""
        due = (
            "state = 'pending' AND delivered_at IS NULL AND ((deliver_after IS NULL AND "
            "created_at < ?) OR deliver_after <= ?)"
        )
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.db.shared else ""
        with self.db.transaction():
            rows = self.db.execute(
                "UPDATE approval_requests SET deliver_after = ? WHERE id IN (SELECT id FROM "  # noqa: S608
                f"approval_requests WHERE {due} ORDER BY created_at LIMIT ?{skip_locked}) "
                "RETURNING id",
                [now + lease, before, now, limit],
            ).fetchall()
        return [row[0] for row in rows]

    def retry_delivery(self, request_id: str, at: float) -> None:
        self.db.execute(
            "UPDATE approval_requests SET deliver_after = ? WHERE id = ? AND delivered_at IS NULL",
            [at, request_id],
        )

    def set_delivered(self, request_id: str, now: float) -> None:
        self.db.execute(
            "UPDATE approval_requests SET delivered_at = ? WHERE id = ?", [now, request_id]
        )

    def queued_to_billing(self, team_id: str | None, now: float) -> list[str]:
        """Pending requests in time whose billing channel's post went through the outbox
        (no ts kept here), of one workspace or (None) of all."""
        team = "" if team_id is None else " AND team_id = ?"
        return [
            row["id"]
            for row in self._rows(
                "SELECT id FROM approval_requests WHERE state = 'pending' AND expires_at > ? "  # noqa: S608
                f"AND billing_channel IS NOT NULL AND billing_ts IS NULL{team} ORDER BY created_at",
                [now] if team_id is None else [now, team_id],
            )
        ]

    def set_billing_channel(self, request_id: str, channel: str) -> bool:
        """Note where the request is posted; False when it is noted already."""
        cursor = self.db.execute(
            "UPDATE approval_requests SET billing_channel = ? WHERE id = ? "
            "AND billing_channel IS NULL AND billing_ts IS NULL",
            [channel, request_id],
        )
        return cursor.rowcount == 1

    # decisions and messages -------------------------------------------------------

    def add_decision(self, request_id: str, user_id: str, *, approve: bool, reason: str) -> bool:
        cursor = self.db.execute(
            "INSERT INTO approval_decisions (request_id, user_id, decision, reason, at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [request_id, user_id, "approve" if approve else "reject", reason or None, now_iso()],
        )
        return cursor.rowcount == 1

    def approvers_of(self, request_id: str) -> list[str]:
        """Who approved, in the order they did."""
        rows = self.db.execute(
            "SELECT user_id FROM approval_decisions WHERE request_id = ? AND decision = 'approve' "
            "ORDER BY at, rowid",
            [request_id],
        ).fetchall()
        return [row[0] for row in rows]

    def decisions(self, request_id: str) -> list[Row]:
        """Each person's decision (user_id, decision, reason, at), in the order made."""
        return self._rows(
            "SELECT user_id, decision, reason, at FROM approval_decisions WHERE request_id = ? "
            "ORDER BY at, rowid",
            [request_id],
        )

    def for_number(self, team_id: str, number: str) -> list[Row]:
        """Every request that names the invoice printed `number`, oldest first."""
        numbers = self.db.json_values("r.invoice_numbers", "n")
        rows = self._rows(
            "SELECT r.* FROM approval_requests r WHERE r.team_id = ? AND EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {numbers} WHERE n.value = ?) "
            "ORDER BY r.created_at",
            [team_id, number],
        )
        return [self._request(row) for row in rows]

    def printed_number(self, team_id: str, number: str) -> str:
        """`number` as the team's requests print it, for a person who typed `inv-7` for
        `INV-7`: the number itself where it matches exactly or matches nothing."""
        numbers = self.db.json_values("r.invoice_numbers", "n")
        rows = self.db.execute(
            f"SELECT DISTINCT n.value FROM approval_requests r, {numbers} "  # noqa: S608
            "WHERE r.team_id = ? AND LOWER(n.value) = LOWER(?)",
            [team_id, number],
        ).fetchall()
        printed = {row[0] for row in rows}
        return number if number in printed or len(printed) != 1 else printed.pop()

    def asked(self, team_id: str, user_id: str, number: str) -> bool:
        """Whether `user_id` was named an approver of a request for the invoice printed
        `number` (in any case)."""
        approvers = self.db.json_values("r.approvers", "a")
        numbers = self.db.json_values("r.invoice_numbers", "n")
        row = self.db.execute(
            "SELECT 1 FROM approval_requests r WHERE r.team_id = ? "  # noqa: S608
            f"AND EXISTS (SELECT 1 FROM {approvers} WHERE a.value = ?) "
            f"AND EXISTS (SELECT 1 FROM {numbers} WHERE LOWER(n.value) = LOWER(?)) LIMIT 1",
            [team_id, user_id, number],
        ).fetchone()
        return row is not None

    def approved_before(self, team_id: str, binding_key: str, moment: float) -> Row | None:
        """The newest request for exactly this payment that was approved before `moment`
        and still good then (an expired approval keeps its approval time)."""
        rows = self._rows(
            "SELECT * FROM approval_requests WHERE team_id = ? AND binding_key = ? "
            "AND decided_at <= ? AND expires_at > ? AND state IN ('approved', 'expired') "
            "ORDER BY decided_at DESC",
            [team_id, binding_key, moment, moment],
        )
        for row in rows:
            request = self._request(row)
            if len(request["approved_by"]) >= request["needed"]:
                return request
        return None

    def add_message(self, request_id: str, user_id: str, channel: str, ts: str) -> None:
        self.db.execute(
            "INSERT INTO approval_messages (request_id, user_id, channel, ts) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (request_id, user_id) DO UPDATE SET "
            "channel = excluded.channel, ts = excluded.ts",
            [request_id, user_id, channel, ts],
        )
        self.db.execute(
            "DELETE FROM approval_attempts WHERE request_id = ? AND user_id = ?",
            [request_id, user_id],
        )

    def add_attempt(self, request_id: str, user_id: str, channel: str, at: float) -> None:
        """Committed before the DM's post: from here on it may exist unanswered."""
        self.db.execute(
            "INSERT INTO approval_attempts (request_id, user_id, channel, attempted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (request_id, user_id) DO UPDATE SET "
            "channel = excluded.channel, attempted_at = excluded.attempted_at, "
            "searched_below = NULL",
            [request_id, user_id, channel, at],
        )

    def drop_attempt(self, request_id: str, user_id: str) -> None:
        self.db.execute(
            "DELETE FROM approval_attempts WHERE request_id = ? AND user_id = ?",
            [request_id, user_id],
        )

    def attempt(self, request_id: str, user_id: str) -> tuple[str, float, float | None] | None:
        """(channel, attempted_at, searched_below) of a DM sent with no answer kept."""
        row = self.db.execute(
            "SELECT channel, attempted_at, searched_below FROM approval_attempts "
            "WHERE request_id = ? AND user_id = ?",
            [request_id, user_id],
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def set_searched_below(self, request_id: str, user_id: str, below: float) -> None:
        self.db.execute(
            "UPDATE approval_attempts SET searched_below = ? WHERE request_id = ? AND user_id = ?",
            [below, request_id, user_id],
        )

    def messages(self, request_id: str) -> list[tuple[str, str, str]]:
        """(user, channel, ts) of every message that shows this request."""
        rows = self.db.execute(
            "SELECT user_id, channel, ts FROM approval_messages WHERE request_id = ? "
            "ORDER BY rowid",
            [request_id],
        ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]
