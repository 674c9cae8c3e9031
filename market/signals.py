"""Signals the market sends to the layers above it (it never imports them).

``bids_won(tick_number, enqueue)`` is sent inside the tick's transaction once its winners are settled; the sandbox app
turns the winning bids into executions (and hands them to Celery when ``enqueue`` says so; None: the
``SANDBOX_DISPATCH`` setting decides).
"""

from django.dispatch import Signal

bids_won = Signal()
