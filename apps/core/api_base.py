"""Strict input for every API view: unknown fields are errors, ids are bounded."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Input serializer that refuses fields it does not know, so a typo is an error, not a no-op."""

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
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
