"""The public verification API: ``GET /api/v1/public/registry/?q=``.

Anyone may ask, without a login or a token; the answer carries the accounts' public fields and
what they mean (official, suspended, ordered to close, closed, not yet opened), never a person.
Look-ups count against the same per-address limit as the verification page
(``publication.ratelimit``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from publication import ratelimit, selectors


@method_decorator(login_not_required, name="dispatch")
class PublicRegistryView(APIView):
    """Is an account one of the school's? ``q``: a name, part of one, or an account id."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="账号名称（可为部分名称）或平台上的账号ID，至少 2 个字符。",
            )
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="查询结果（最多 20 个账号）"),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="查询内容过短或过长"),
            429: OpenApiResponse(OpenApiTypes.OBJECT, description="查询过于频繁"),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        allowance = ratelimit.hit(request._request)
        if not allowance.allowed:
            return Response(
                {"detail": _(ratelimit.ERR_TOO_MANY) % {"seconds": allowance.retry_after}},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(allowance.retry_after)},
            )
        query = selectors.normalize_query(request.query_params.get("q"))
        problem = selectors.query_problem(query)
        if problem:
            return Response({"detail": problem}, status=status.HTTP_400_BAD_REQUEST)
        lookup = selectors.registry_lookup(query)
        if lookup.answers:
            message = _("找到 %(n)s 个账号，请核对名称和账号ID是否完全一致。") % {
                "n": len(lookup.answers)
            }
        else:
            message = _(selectors.NOT_FOUND)
        return Response(
            {
                "query": lookup.query,
                "official": lookup.official_match,
                "message": message,
                "count": len(lookup.answers),
                "more": lookup.more,
                "results": [answer.as_dict() for answer in lookup.answers],
            }
        )
