"""Query parameters: each operation's are a serializer, which the schema describes (drf-spectacular
explodes it into parameters) and the view reads them with, so what the schema promises is what
is checked. A value the serializer refuses (``offset=-1``, ``role=owner``, ``counts=maybe``) or a
parameter given twice is a 400 with a message by parameter, never silently ignored."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

# PostgreSQL's integer: past it, OFFSET and LIMIT are refused by the database, not by us.
LARGEST_PAGE_NUMBER = 2**31 - 1


def read_query(request, serializer_class: type[serializers.Serializer]) -> dict:
    """The query parameters ``serializer_class`` declares, validated (the absent ones left
    out). Raises ``ValidationError`` (400)."""
    params = request.query_params
    fields = serializer_class().fields
    repeated = {
        name: [f"Give {name} once (it was given {len(params.getlist(name))} times)."]
        for name in fields
        if len(params.getlist(name)) > 1
    }
    if repeated:
        raise ValidationError(repeated)
    # A plain dict, not the QueryDict: DRF reads an absent boolean of a QueryDict (an HTML form)
    # as an unticked checkbox, i.e. false.
    given = {name: params[name] for name in fields if name in params}
    query = serializer_class(data=given)
    query.is_valid(raise_exception=True)
    return query.validated_data


class PageQuery(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1,
        max_value=LARGEST_PAGE_NUMBER,
        required=False,
        help_text="Number of results to return per page.",
    )
    offset = serializers.IntegerField(
        min_value=0,
        max_value=LARGEST_PAGE_NUMBER,
        required=False,
        help_text="The initial index from which to return the results.",
    )


class StudioPagination(LimitOffsetPagination):
    """DRF's limit/offset pagination, except that an invalid ``limit`` or ``offset`` is a 400
    (DRF's falls back to the first page of the default size without a word), and that a page
    which is the last one is counted without a ``COUNT`` query: the page is read first, and
    when it is not full (a learner's own grades or progress: almost always) the results end
    with it, so their number is the offset plus the page's length."""

    def paginate_queryset(self, queryset, request, view=None):
        self.page_query = read_query(request, PageQuery)
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        page = list(queryset[self.offset : self.offset + self.limit])
        if len(page) < self.limit and (page or self.offset == 0):
            self.count = self.offset + len(page)
        else:
            self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page

    def get_limit(self, request):
        return self.page_query.get("limit", self.default_limit)

    def get_offset(self, request):
        return self.page_query.get("offset", 0)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": str(field.help_text),
                "schema": {
                    "type": "integer",
                    "minimum": field.min_value,
                    "maximum": field.max_value,
                },
            }
            for name, field in PageQuery().fields.items()
        ]
