"""What the OpenAPI schema says about errors, decided once for every operation from what its view
does, not declared per view: a test (tests/integration/lms/test_api_contract.py) holds the API
to it with schemathesis.

Every operation may answer

- **401** (no or a bad token, bearer token or session): every view wants a signed-in caller;
- **429** (too many requests; ``Retry-After`` says how long to wait): every view is throttled;
- **400** (the errors by field) where it reads a body or query parameters;
- **403** where a permission beyond "signed in" applies, and on writes (a session's CSRF check);
- **404** where the path names something (a course, a lesson, a grade...) the caller may not see.

A view declares its own error answers only where they mean something of its own (who may enroll,
the grader's failures); their bodies are filled in here when the view gives only a description.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person.")


class GraderErrorSerializer(ErrorSerializer):
    grader_error = serializers.CharField(
        required=False,
        help_text="The grader's code (e.g. not-found, grader-down), when the grader refused "
        "or failed; absent when the LMS refused first.",
    )


# DRF's validation errors: the messages by field (a list of sentences each, nested for nested
# fields), ``non_field_errors`` for the whole, or ``detail`` for a body that is not JSON.
VALIDATION_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "The messages by field or query parameter; `detail` when the body could not "
    "be read at all.",
}

ERRORS = {
    400: OpenApiResponse(VALIDATION_ERRORS, "Invalid query parameters or body."),
    401: OpenApiResponse(
        ErrorSerializer, "Not signed in: no or an invalid token, bearer token or session."
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        "Not allowed (see who may do what), or a write in a session without its CSRF token.",
    ),
    404: OpenApiResponse(ErrorSerializer, "Not found, or not visible to the caller."),
    429: OpenApiResponse(ErrorSerializer, "Too many requests: wait `Retry-After` seconds."),
}
# A string the API reads holds no NUL character (DRF refuses it; PostgreSQL could not store it).
NO_NUL = "^[^\\x00]*$"
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)


class StudioAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers above."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.view.get_throttles():
            parameters = [*parameters, RETRY_AFTER]
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "array":
                # A list in the query is comma-separated (?fields=a,b): the API reads each
                # parameter once (lms.api.query).
                parameter.update(style="form", explode=False)
        responses = operation["responses"]
        for code, declared in responses.items():
            if code >= "400" and "content" in declared:
                # Errors are JSON also where the success is not (the CSV export).
                declared["content"] = {"application/json": next(iter(declared["content"].values()))}
        for code in self._error_codes(operation):
            declared = responses.get(str(code))
            if declared is None:
                responses[str(code)] = self._error_response(ERRORS[code], code)
            elif "content" not in declared:
                schema = self._error_response(ERRORS[code], code)
                responses[str(code)] = {**schema, "description": declared["description"]}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"pattern", "enum"} & set(schema)
        ):
            schema["pattern"] = NO_NUL  # DRF's CharField refuses it
        # drf-spectacular drops allow_null of a serializer in a list (the gradebook's cells).
        child = getattr(field, "child", None)
        if isinstance(field, serializers.ListField) and getattr(child, "allow_null", False):
            schema["items"] = {"allOf": [schema["items"]], "nullable": True}
        return schema

    def _error_codes(self, operation) -> list[int]:
        permissions = self.view.get_permissions()
        parameters = operation.get("parameters", [])
        codes = []
        if any(isinstance(p, IsAuthenticated) for p in permissions):
            codes.append(401)
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            codes.append(400)
        beyond_signed_in = any(not isinstance(p, IsAuthenticated) for p in permissions)
        if beyond_signed_in or self.method not in SAFE_METHODS or "403" in operation["responses"]:
            codes.append(403)
        if any(p["in"] == "path" for p in parameters):
            codes.append(404)
        if self.view.get_throttles():
            codes.append(429)
        return codes

    def _error_response(self, response: OpenApiResponse, code: int):
        return self._get_response_for_code(response, str(code), media_types=["application/json"])


class DecimalInputExtension(OpenApiSerializerFieldExtension):
    """A decimal the API reads: a JSON number (as the grader sends) or a decimal string."""

    target_class = "lms.api.serializers.DecimalInput"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        as_string = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        bound = 10**field.max_whole_digits
        as_number = {
            "type": "number",
            "multipleOf": 10**-field.decimal_places,
            "maximum": bound,
            "exclusiveMaximum": True,
        }
        if field.min_value is None:
            as_number.update(minimum=-bound, exclusiveMinimum=True)
        else:
            as_number["minimum"] = field.min_value
            if field.min_value >= 0:  # no minus sign then
                as_string["pattern"] = as_string["pattern"].replace("^-?", "^", 1)
        description = as_string.pop("description", None)
        schema = {"oneOf": [as_number, as_string]}
        if description:
            schema["description"] = description
        for key in ("readOnly", "writeOnly", "nullable"):
            if key in as_string:
                schema[key] = as_string.pop(key)
        return schema


class SparseFieldsExtension(OpenApiSerializerExtension):
    """A serializer that answers ``?fields=a,b`` with those fields alone: none is required."""

    target_class = "lms.api.serializers.SparseFieldsSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema.pop("required", None)
        return schema
