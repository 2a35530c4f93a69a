"""The worker: claims jobs, runs each in an extractor child process, records the outcome.

The package imports nothing itself: ``pagewire.worker.loop`` holds the ``Worker``
(with the store, the HTTP client and the rest); ``pagewire.worker.runner`` is light,
for what only starts an extractor child.
"""
