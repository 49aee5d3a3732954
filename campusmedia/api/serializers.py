from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campusmedia.choices import AccountStatus, UnitKind, choice_labels
from campusmedia.models import MediaAccount, Person, TeamMember, Unit


@extend_schema_field(OpenApiTypes.STR)
class LabelField(serializers.ReadOnlyField):
    """The label of a stored code (``active`` → ``运行中``), from the cached vocabulary.

    A string in the schema: without the annotation the schema would list the codes of the
    source field as the values, which the labels are not."""

    def __init__(self, choices: type[models.Choices], **kwargs: Any) -> None:
        self.vocabulary = choices
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return choice_labels(self.vocabulary).get(value, str(value))


class UnitSerializer(serializers.ModelSerializer):
    tier = serializers.IntegerField(read_only=True)
    kind_display = LabelField(UnitKind, source="kind")

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "short_name", "kind", "kind_display", "tier", "parent"]


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name"]


class MaskedPersonSerializer(serializers.ModelSerializer):
    """People in the API carry masked contact data only; a full reveal happens on the page."""

    mobile = serializers.CharField(source="mobile_masked", read_only=True)
    email = serializers.CharField(source="email_masked", read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "title", "office_phone", "mobile", "email", "wechat_id"]


class TeamMemberSerializer(serializers.ModelSerializer):
    person = MaskedPersonSerializer(read_only=True)

    class Meta:
        model = TeamMember
        fields = ["role", "person", "starts_on"]


class AccountListSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="platform.code", read_only=True)
    platform_name = serializers.CharField(source="platform.name", read_only=True)
    owner_unit = UnitBriefSerializer(read_only=True)
    tier = serializers.IntegerField(read_only=True)
    status_display = LabelField(AccountStatus, source="status")

    class Meta:
        model = MediaAccount
        fields = [
            "id",
            "name",
            "account_id",
            "platform",
            "platform_name",
            "account_type",
            "owner_unit",
            "tier",
            "status",
            "status_display",
            "opened_on",
            "follower_count",
            "approval_number",
        ]


class AccountDetailSerializer(AccountListSerializer):
    team = serializers.SerializerMethodField()

    class Meta(AccountListSerializer.Meta):
        fields = [
            *AccountListSerializer.Meta.fields,
            "content_categories",
            "content_forms",
            "function_description",
            "planned_opening_on",
            "verification",
            "verification_note",
            "operator_count",
            "url",
            "closed_on",
            "team",
        ]

    def get_team(self, account: MediaAccount) -> list[dict[str, Any]]:
        current = [m for m in account.team.all() if m.ends_on is None]
        return TeamMemberSerializer(current, many=True).data  # type: ignore[return-value]
