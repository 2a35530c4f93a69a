"""The chaos run's judge (scripts/_chaos_report.py) flags what it is there to flag."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from _chaos_receiver import Arrival
from _chaos_report import Snapshot, failures, judge


def run(arrivals: list[Arrival], logged: dict[str, int], **jobs: dict) -> dict[str, int]:
    snap = Snapshot(
        jobs={"j1": {"status": "completed", "error": None, "attempts": 1}, **jobs},
        events=[("e1", "j1", "job.created", 1), ("e2", "j1", "job.completed", 2)],
        deliveries={"e1": ("d1", "succeeded", 1), "e2": ("d2", "succeeded", 1)},
        logged=Counter({f"d{k[1]}": n for k, n in logged.items()}),
    )
    return judge(snap, {"j1": False}, arrivals, 0, [("dispatch-0", 100.0)], cut_window=5)


def delivered(webhook_id: str, at: float, sequence: int, sender: str = "dispatch-1") -> Arrival:
    kind = "job.created" if sequence == 1 else "job.completed"
    return Arrival(webhook_id, at, True, sender, kind, "j1", sequence)


def test_a_clean_run_passes() -> None:
    table = run([delivered("e1", 1, 1), delivered("e2", 2, 2)], {"e1": 1, "e2": 1})
    assert failures(table, same_id_bound=10) == []
    assert table["attempts sent"] == table["attempts logged"] == 2


def test_an_attempt_sent_and_not_logged_fails_the_run_unless_its_sender_was_killed() -> None:
    arrivals = [delivered("e1", 1, 1), delivered("e2", 2, 2), delivered("e2", 3, 2)]
    table = run(arrivals, {"e1": 1, "e2": 1})
    assert table["sent, not logged"] == 1
    assert "sent, not logged" in failures(table, same_id_bound=10)

    # sent by the dispatcher SIGKILLed at t=100 just before its death, then sent again
    # (and logged) by another one
    cut = [
        delivered("e1", 1, 1),
        delivered("e2", 98, 2, sender="dispatch-0"),
        delivered("e2", 105, 2),
    ]
    table = run(cut, {"e1": 1, "e2": 1})
    assert table["sent, not logged"] == 0 and table["sent, not logged (cut by a SIGKILL)"] == 1
    assert failures(table, same_id_bound=10) == []


def test_out_of_order_and_missing_events_and_infrastructure_failures_fail_the_run() -> None:
    table = run([delivered("e2", 1, 2), delivered("e1", 2, 1)], {"e1": 1, "e2": 1})
    assert table["order violations (jobs)"] == 1

    table = run([delivered("e1", 1, 1)], {"e1": 1})
    assert table["events never delivered"] == 1

    failed = {"status": "failed", "error": {"code": "internal_error"}, "attempts": 1}
    table = run([delivered("e1", 1, 1), delivered("e2", 2, 2)], {"e1": 1, "e2": 1}, j1=failed)
    assert table["failed by infrastructure"] == 1
    assert "failed by infrastructure" in failures(table, same_id_bound=10)
