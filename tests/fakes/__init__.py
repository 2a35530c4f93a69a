"""Fakes at the I/O edges: a sender with no socket, a runner with no child process,
and faults for the database.

The sender and the runner implement the protocol the real ones do
(``pagewire.dispatch.sender.Sender``, ``pagewire.worker.runner.Runner``) and answer
by a script, so a test can check the dispatcher's and the worker's own logic: what
they decide, record and skip. Tests of the network and of the child process
itself use the real ones. ``FaultyStore`` wraps a real store and fails the
operations a test names; ``kill_connections`` drops real PostgreSQL connections.
"""

from fakes.faults import FaultyStore, kill_connections
from fakes.runner import Script, ScriptedRunner
from fakes.sender import Answer, FakeSender

__all__ = [
    "Answer",
    "FakeSender",
    "FaultyStore",
    "Script",
    "ScriptedRunner",
    "kill_connections",
]
