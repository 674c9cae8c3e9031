"""Signals the market sends to the layers above it (it never imports them).

``bids_won(tick_number)`` is sent inside the tick's transaction once its winners are settled; the sandbox app
turns the winning bids into executions.
"""

from django.dispatch import Signal

bids_won = Signal()
