"""Baselines for ``manage.py bench``: the same rows a list page shows, fetched by one plain query
and rendered by a minimal template, served through the same middleware stack.

Only the benchmark mounts these URLs (``ROOT_URLCONF`` override); the site never does.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import path

from campusmedia.models import MediaAccount
from campusmedia.urls import urlpatterns as site_urlpatterns

_MINIMAL = Template(
    "<table>{% for a in rows %}<tr><td>{{ a.name }}</td><td>{{ a.platform.name }}</td>"
    "<td>{{ a.owner_unit.name }}</td><td>{{ a.status }}</td></tr>{% endfor %}</table>"
)


def baseline_list(request: HttpRequest) -> HttpResponse:
    """One query (optionally a plain foreign-key filter on ``?units=1,2``), one tiny template."""
    queryset = MediaAccount.objects.select_related("platform", "owner_unit").order_by("name", "id")
    units = request.GET.get("units")
    if units:
        queryset = queryset.filter(owner_unit_id__in=[int(u) for u in units.split(",")])
    rows = list(queryset[: settings.CAMPUSMEDIA_PAGE_SIZE])
    return HttpResponse(_MINIMAL.render(Context({"rows": rows})))


urlpatterns = [
    path("bench/baseline/", baseline_list, name="bench_baseline"),
    *site_urlpatterns,
]
