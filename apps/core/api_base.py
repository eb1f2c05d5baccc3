"""Strict input for every API view: unknown fields are errors, JSON values have the documented type, ids are
bounded. (Query parameters: ``api_support.check_query``.)"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import serializers

MAX_ID = 2**63 - 1

# DRF's fields coerce (0 -> "0", "5" -> 5, 0 -> False): a JSON body must already hold the documented type.
JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ListField, (list,), "a list"),
    (serializers.MultipleChoiceField, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.JSONField, (object,), "any JSON value"),
    (serializers.BaseSerializer, (dict,), "an object"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DateField, (str,), "a date (YYYY-MM-DD)"),
    (serializers.DateTimeField, (str,), "a date and time (ISO 8601)"),
)


def _json_type_error(field: serializers.Field, value: Any, label: str) -> str | None:
    """Why ``value`` is not of the JSON type ``field`` documents (nested lists and objects too), or None."""
    if value is None:
        return None  # the field's own allow_null decides
    for field_class, types, wanted in JSON_TYPES:
        if isinstance(field, field_class):
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                return f"{label} must be {wanted}."
            break
    if isinstance(field, serializers.ListField) and field.child is not None:
        for index, item in enumerate(value):
            if error := _json_type_error(field.child, item, f"{label}[{index}]"):
                return error
    if isinstance(field, serializers.Serializer) and not isinstance(field, StrictSerializer):
        for key, item in value.items():
            if key in field.fields and (error := _json_type_error(field.fields[key], item, f"{label}.{key}")):
                return error
    return None


class StrictSerializer(serializers.Serializer):
    """Input serializer that refuses fields it does not know, so a typo is an error, not a no-op."""

    # (That docstring is the schema's description of every request body without one of its own.) Also refused,
    # in a JSON body: values of another type than documented ("name": 0 is a 400, not the name "0"). ``one_of``
    # names fields of which a body gives exactly one (at most one, with ``one_of_required = False``). The schema
    # says all this too: ``additionalProperties: false`` and ``oneOf`` (apps.core.schema).

    one_of: tuple[str, ...] = ()
    one_of_required = True

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in self.one_of if name in data]
        if len(given) > 1 or (self.one_of_required and self.one_of and not given):
            names = ", ".join(self.one_of[:-1]) + f" or {self.one_of[-1]}"
            rule = "exactly" if self.one_of_required else "at most"
            raise serializers.ValidationError(
                {self.one_of[-1]: [serializers.ErrorDetail(f"Give {rule} one of {names}.", code="one_of")]}
            )
        return data

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("This field is not known.", code="unknown_field")]
                        for name in unknown
                    }
                )
            if not isinstance(data, QueryDict):  # a form's values are all strings: the fields parse them
                errors = {
                    name: [serializers.ErrorDetail(error, code="invalid_type")]
                    for name, value in data.items()
                    if (error := _json_type_error(self.fields[name], value, name))
                }
                if errors:
                    raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
