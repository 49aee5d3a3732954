"""The alliance in the API (v1): coordinated publishing tasks, policy notices and pre-publication
requests.

The rules of the pages hold: every object comes through ``alliance.permissions`` (an outsider gets
404, a reader without the right, the auditor on every write, 403 with an audit row) and every
write through ``alliance.services``. The services' errors become HTTP answers here:
``ValidationError`` → 400 with the Chinese messages keyed by field, ``PermissionDenied`` → 403,
``AllianceConflict`` → 409 with the reason.

* ``/api/v1/alliance/tasks/``: list, detail (with the assignments the caller sees), create (the
  secretariat), ``POST …/{id}/answer/`` (``{"account": 12, "done": true, "post_link": "…"}`` or
  ``{"account": 12, "done": false, "reason": "…"}``).
* ``/api/v1/alliance/notices/``: list, detail, create (the secretariat), ``POST …/{id}/read/``
  (recipients), ``POST …/{id}/remind/`` (the secretariat).
* ``/api/v1/alliance/prepublications/``: list (``?state=``), detail (with the steps), create,
  ``PATCH``, and ``POST …/{id}/<step>/`` for ``approve``, ``return``, ``resubmit``, ``withdraw``
  and ``file``.
"""

from __future__ import annotations

from alliance.api.notices import NoticeViewSet
from alliance.api.prepublications import PrepublicationViewSet
from alliance.api.tasks import TaskViewSet

__all__ = ["NoticeViewSet", "PrepublicationViewSet", "TaskViewSet"]
