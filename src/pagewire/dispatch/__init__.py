"""The dispatcher: claims due deliveries, sends signed webhooks, records each attempt."""

from pagewire.dispatch.dispatcher import Dispatcher

__all__ = ["Dispatcher"]
