"""Who may do what with the public list, in one place.

Reading is public: the editions, their PDF and the verification answer anyone, signed in or not,
and show no personal data. Publishing an edition is the propaganda department's
(``Access.writes_all``); the auditor reads and never publishes.
"""

from __future__ import annotations

from campusmedia.permissions import Access


def may_publish(access: Access) -> bool:
    return bool(access.user.is_authenticated and access.user.is_active and access.writes_all)
