"""The worker: claims jobs, runs each in an extractor child process, records the outcome."""

from pagewire.worker.loop import Worker

__all__ = ["Worker"]
