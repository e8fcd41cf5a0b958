"""API v1: the caller's notifications and their email preferences. Thin: what the caller sees
is ``lms.notifications.selectors``' answer, every write ``lms.notifications.services``'; a
person only ever reads and changes their own (someone else's notification is not found).

=========================================  =================================================
``GET notifications/``                      own, newest first (``?unread=true|false``)
``GET notifications/unread-count/``         own (the bell's number)
``POST notifications/{id}/read/``           own (another's: 404)
``POST notifications/read-all/``            own
``GET|PUT|PATCH notifications/preferences/`` own: how each kind goes out by email
=========================================  =================================================
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from lms.notifications import selectors, services
from lms.notifications.models import Delivery, Kind, Notification

from .base import StudioAPIMixin
from .query import read_query

WAYS = ", ".join(f"{value} ({label.lower()})" for value, label in Delivery.choices)


class NotificationSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True,
        help_text="The course it happened in (slug), if any.",
    )
    sentence = serializers.CharField(
        read_only=True, help_text="What the bell shows: the actor's name and what happened."
    )
    read = serializers.BooleanField(source="is_read", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "course", "actor_name", "text", "sentence", "url", "created_at",
                  "read", "read_at"]
        read_only_fields = fields


class NotificationQuery(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, help_text="Only the unread ones (true), or only the read ones (false)."
    )


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(min_value=0, help_text="How many are unread.")


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(min_value=0, help_text="How many were unread until now.")


def _delivery_field(kind: str, label: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Delivery.choices,
        help_text=f"{label}: by email at once, in the daily digest, or not at all.",
        error_messages={
            "invalid_choice": f"“{{input}}” is not a way to send {label.lower()} by email: "
                              f"choose {WAYS}.",
            "required": f"Say how {label.lower()} go out by email: {WAYS}.",
            "null": f"Say how {label.lower()} go out by email: {WAYS}.",
        },
    )


PreferencesSerializer = type(
    "NotificationPreferencesSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "How each kind of notification reaches the caller by email.",
        **{kind: _delivery_field(kind, label) for kind, label in Kind.choices},
    },
)


@extend_schema_view(list=extend_schema(parameters=[NotificationQuery]))
class NotificationViewSet(StudioAPIMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first, and their email preferences."""

    serializer_class = NotificationSerializer
    # An id PostgreSQL's integer can hold; anything else names nothing (a JSON 404).
    lookup_value_regex = r"[0-9]{1,9}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        unread = read_query(self.request, NotificationQuery).get("unread")
        return selectors.notifications_of(self.request.user, unread=unread)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=UnreadCountSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        """How many of the caller's notifications are unread (the bell's number)."""
        return Response({"unread": selectors.unread_count(request.user)})

    @extend_schema(
        request=None,
        responses={200: NotificationSerializer,
                   404: OpenApiResponse(description="No such notification of the caller's.")},
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one of the caller's notifications read (already read: unchanged)."""
        return Response(NotificationSerializer(services.mark_read(request.user, pk)).data)

    @extend_schema(request=None, responses=MarkedReadSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark every one of the caller's notifications read."""
        return Response({"marked": services.mark_all_read(request.user)})

    @extend_schema(methods=["GET"], responses=PreferencesSerializer)
    @extend_schema(
        methods=["PUT", "PATCH"],
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer,
                   400: OpenApiResponse(description="A kind's value is not one of the ways.")},
        description="PUT: every kind's way; PATCH: only the kinds given change.",
    )
    @action(detail=False, methods=["get", "put", "patch"], parser_classes=[JSONParser])
    def preferences(self, request):
        """How each kind of notification reaches the caller by email: ``immediate``,
        ``digest`` or ``off``."""
        if request.method != "GET":
            chosen = PreferencesSerializer(data=request.data, partial=request.method == "PATCH")
            chosen.is_valid(raise_exception=True)
            services.set_deliveries(request.user, chosen.validated_data)
        return Response(PreferencesSerializer(selectors.deliveries(request.user)).data)
