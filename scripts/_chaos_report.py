"""What a chaos run ended with: read from the database and the receiver, then judged.

Definitions (docs/reliability.md, "Chaos runs"):

* accepted: submissions the API answered 202 (each retried with one Idempotency-Key
  until it had an answer); lost: accepted jobs the database does not know;
  final: completed or failed; stuck: accepted and not final when the run settled.
* completed twice: jobs with more than one ``job.completed`` event.
* failed by the document: the run's deliberately broken files, failed as
  ``invalid_document``. Failed by infrastructure: any other failure (a good file
  that failed, whatever the code, or a broken file failed with another code).
* deliveries: requests the receiver answered 204. Same-id duplicates: answers
  beyond the first for one ``webhook-id`` (at-least-once: counted, bounded).
  Different-id duplicates: a job's event (job, type, sequence) delivered under two
  ``webhook-id`` values. Events never delivered: events of accepted jobs the
  receiver never answered. Order violations: jobs whose events were first
  delivered out of sequence order.
* attempts sent: every request the receiver read, answered or dropped (it never
  refuses a connection, so no attempt escapes its count). Attempts logged: rows
  of the attempt log. An attempt sent and not logged whose own dispatcher (the
  process holding the connection it came on) was SIGKILLed within ``cut_window``
  seconds after it arrived was cut by the kill (no process can log after a
  SIGKILL): counted apart. A request whose sender could not be found (its process
  died before the receiver looked) counts as cut when a dispatcher was SIGKILLed
  within that window, or up to a second before it was read. Every other difference,
  either way, is a defect.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from _chaos_receiver import Arrival

from pagewire.settings import Settings
from pagewire.store import tables as t
from pagewire.store.db import Database

FINAL = {"completed", "failed", "cancelled"}
DOCUMENT_CODES = {"invalid_document"}


@dataclass
class Snapshot:
    jobs: dict[str, dict[str, Any]]  # id -> {status, error, attempts}
    events: list[tuple[str, str | None, str, int]]  # id, job_id, type, sequence
    deliveries: dict[str, tuple[str, str, int]]  # event_id -> (delivery id, status, attempts)
    logged: Counter[str]  # delivery id -> attempt rows


async def snapshot(database_url: str, job_ids: Sequence[str]) -> Snapshot:
    db = Database(Settings(database_url=database_url).resolved_database_url, listen=False)
    try:
        async with db.read() as conn:
            jobs = {
                row.id: {"status": row.status, "error": row.error, "attempts": row.attempts}
                for row in await conn.execute(
                    sa.select(t.jobs.c.id, t.jobs.c.status, t.jobs.c.error, t.jobs.c.attempts)
                )
            }
            events = [
                (row.id, row.job_id, row.type, row.sequence)
                for row in await conn.execute(
                    sa.select(
                        t.events.c.id, t.events.c.job_id, t.events.c.type, t.events.c.sequence
                    )
                )
            ]
            D = t.deliveries.c
            deliveries = {
                row.event_id: (row.id, row.status, row.attempts)
                for row in await conn.execute(sa.select(D.id, D.event_id, D.status, D.attempts))
            }
            logged: Counter[str] = Counter(
                {
                    row.delivery_id: row.n
                    for row in await conn.execute(
                        sa.select(t.attempts.c.delivery_id, sa.func.count().label("n")).group_by(
                            t.attempts.c.delivery_id
                        )
                    )
                }
            )
    finally:
        await db.close()
    wanted = set(job_ids)
    return Snapshot({k: v for k, v in jobs.items() if k in wanted}, events, deliveries, logged)


def unsettled(snap: Snapshot, job_ids: Sequence[str]) -> tuple[int, int]:
    """(accepted jobs not final, deliveries still pending)."""
    jobs = sum(1 for j in job_ids if snap.jobs.get(j, {}).get("status") not in FINAL)
    pending = sum(1 for _, status, _ in snap.deliveries.values() if status == "pending")
    return jobs, pending


def judge(
    snap: Snapshot,
    accepted: dict[str, bool],  # job id -> its document is broken on purpose
    arrivals: list[Arrival],
    bad_signatures: int,
    dispatcher_kills: list[tuple[str, float]],
    cut_window: float,
) -> dict[str, int]:
    jobs = snap.jobs
    final = [j for j in accepted if jobs.get(j, {}).get("status") in FINAL]
    by_document = infra = 0
    for job_id, broken in accepted.items():
        job = jobs.get(job_id)
        if job is None or job["status"] != "failed":
            continue
        code = (job["error"] or {}).get("code")
        if broken and code in DOCUMENT_CODES:
            by_document += 1
        else:
            infra += 1
    wrongly_completed = sum(
        1
        for j, broken in accepted.items()
        if broken and jobs.get(j, {}).get("status") == "completed"
    )
    completions = Counter(job for _, job, kind, _ in snap.events if kind == "job.completed")

    acked = [a for a in arrivals if a.acknowledged]
    per_id = Counter(a.webhook_id for a in acked)
    ids_per_event: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for a in acked:
        ids_per_event[(a.job_id, a.event_type, a.sequence)].add(a.webhook_id)
    job_events = {e_id for e_id, job, _, _ in snap.events if job in accepted}
    seen: set[str] = set()
    last_sequence: dict[str | None, int] = {}
    out_of_order: set[str | None] = set()
    for a in acked:  # in arrival order
        if a.webhook_id in seen:
            continue
        seen.add(a.webhook_id)
        if a.sequence is not None and a.sequence < last_sequence.get(a.job_id, -1):
            out_of_order.add(a.job_id)
        last_sequence[a.job_id] = max(a.sequence or 0, last_sequence.get(a.job_id, -1))

    sent = Counter(a.webhook_id for a in arrivals)
    logged_per_event = {
        event_id: snap.logged.get(delivery_id, 0)
        for event_id, (delivery_id, _, _) in snap.deliveries.items()
    }
    cut = unlogged = never_sent = 0
    for event_id in set(sent) | {e for e, n in logged_per_event.items() if n}:
        gap = sent.get(event_id, 0) - logged_per_event.get(event_id, 0)
        if gap < 0:
            never_sent -= gap
            continue
        # Which of the event's requests are the unlogged ones is not known: as many as
        # may have been cut by a kill are, and the log matches the others.
        cuttable = sum(
            1
            for a in arrivals
            if a.webhook_id == event_id
            and any(_cut(a, name, kill, cut_window) for name, kill in dispatcher_kills)
        )
        cut += min(gap, cuttable)
        unlogged += gap - min(gap, cuttable)
    return {
        "accepted": len(accepted),
        "final": len(final),
        "lost": sum(1 for j in accepted if j not in jobs),
        "stuck": len(accepted) - len(final) - sum(1 for j in accepted if j not in jobs),
        "completed twice": sum(1 for n in completions.values() if n > 1),
        "failed by the document": by_document,
        "failed by infrastructure": infra,
        "broken documents completed": wrongly_completed,
        "events": len(job_events),
        "events never delivered": len(job_events - seen),
        "bad signatures": bad_signatures,
        "duplicates, same webhook-id": sum(n - 1 for n in per_id.values()),
        "duplicates, different ids": sum(len(ids) - 1 for ids in ids_per_event.values()),
        "order violations (jobs)": len(out_of_order),
        "attempts sent": sum(sent.values()),
        "attempts logged": sum(logged_per_event.values()),
        "sent, not logged (cut by a SIGKILL)": cut,
        "sent, not logged": unlogged,
        "logged, never sent": never_sent,
    }


# Rows that are not failures whatever their value.
COUNTS = {
    "accepted",
    "final",
    "failed by the document",
    "events",
    "attempts sent",
    "attempts logged",
    "sent, not logged (cut by a SIGKILL)",
    "duplicates, same webhook-id",
}


def _cut(arrival: Arrival, killed: str, kill: float, window: float) -> bool:
    """Whether the SIGKILL of dispatcher ``killed`` at ``kill`` may have cut ``arrival``
    off from the log: it came from that dispatcher at most ``window`` seconds earlier.
    A request whose sender was not found came from a process already dead when the
    receiver looked: up to a second after the kill (it was in the socket's buffer)."""
    if arrival.sender == killed:
        return 0 <= kill - arrival.at <= window
    return arrival.sender is None and -1 <= kill - arrival.at <= window


def infrastructure_failures(snap: Snapshot, accepted: dict[str, bool]) -> list[str]:
    """One line per job failed by infrastructure: what the job's error says."""
    lines = []
    for job_id, broken in accepted.items():
        job = snap.jobs.get(job_id)
        if job is None or job["status"] != "failed":
            continue
        error = job["error"] or {}
        if not (broken and error.get("code") in DOCUMENT_CODES):
            lines.append(
                f"{job_id} attempts={job['attempts']} {error.get('code')}: {error.get('message')}"
            )
    return lines


def failures(table: dict[str, int], same_id_bound: int) -> list[str]:
    """The rows that make the run fail."""
    bad = [row for row, value in table.items() if row not in COUNTS and value != 0]
    if table["final"] != table["accepted"]:
        bad.append("final")
    if table["duplicates, same webhook-id"] > same_id_bound:
        bad.append("duplicates, same webhook-id")
    return bad


def render(table: dict[str, int], bad: list[str], same_id_bound: int) -> str:
    width = max(map(len, table)) + 2
    lines = []
    for row, value in table.items():
        mark = "  <- FAIL" if row in bad else ""
        note = f"  (bound {same_id_bound})" if row == "duplicates, same webhook-id" else ""
        lines.append(f"{row:<{width}}{value:>8}{note}{mark}")
    return "\n".join(lines)
