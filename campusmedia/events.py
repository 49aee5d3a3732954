"""Signals the registry sends for other apps to react to, without the registry knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that ends a role (``services.role_end``, also on a move), with
# ``assignment`` (its ``ends_on`` set), ``actor`` and ``request``.
role_ended = Signal()
