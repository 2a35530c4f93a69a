"""Fakes at the I/O edges: a sender with no socket, a runner with no child process.

Each implements the protocol the real one does (``pagewire.dispatch.sender.Sender``,
``pagewire.worker.runner.Runner``) and answers by a script, so a test can check
the dispatcher's and the worker's own logic: what they decide, record and skip.
Tests of the network and of the child process itself use the real ones.
"""

from fakes.runner import Script, ScriptedRunner
from fakes.sender import Answer, FakeSender

__all__ = ["Answer", "FakeSender", "Script", "ScriptedRunner"]
