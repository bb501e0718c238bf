"""OpenAPI documentation of the ``capture/v1`` upload body, derived from the msgspec structs.

The upload view never runs these serializers: it decodes with msgspec
(``collection.schema``, the one definition of the format).  They are built
from those structs so that the documented fields and limits are the enforced
ones.  Events are documented as one object holding the fields of every event
type; a field is required when every event type requires it.
"""

from __future__ import annotations

from typing import Any

from msgspec import inspect as mi
from rest_framework import serializers

from collection.schema import MAX_EVENTS, UploadBatch


def _serializer_class(name: str, fields: dict[str, serializers.Field]) -> type[serializers.Serializer]:
    # drf-spectacular names the component after the class: "<name>" (+ "Request").
    return serializers.SerializerMetaclass(
        f"{name}Serializer", (serializers.Serializer,), {"__module__": __name__, **fields}
    )


def _field(info: mi.Type, *, required: bool) -> serializers.Field:
    options: dict[str, Any] = {"required": required}
    while True:  # Annotated[...] carries the description; "| None" makes the field nullable
        if isinstance(info, mi.Metadata):
            if description := (info.extra_json_schema or {}).get("description"):
                options["help_text"] = description
            info = info.type
        elif isinstance(info, mi.UnionType) and any(isinstance(t, mi.NoneType) for t in info.types):
            (info,) = (t for t in info.types if not isinstance(t, mi.NoneType))
            options["allow_null"] = True
        else:
            break
    if isinstance(info, mi.FloatType):
        return serializers.FloatField(min_value=info.ge, max_value=info.le, **options)
    if isinstance(info, mi.IntType):
        return serializers.IntegerField(min_value=info.ge, max_value=info.le, **options)
    if isinstance(info, mi.StrType):
        return serializers.CharField(
            min_length=info.min_length, max_length=info.max_length, allow_blank=not info.min_length, **options
        )
    if isinstance(info, mi.BoolType):
        return serializers.BooleanField(**options)
    if isinstance(info, mi.LiteralType):
        return serializers.ChoiceField(choices=list(info.values), **options)
    if isinstance(info, mi.UUIDType):
        return serializers.UUIDField(**options)
    if isinstance(info, mi.StructType):
        fields = {f.name: _field(f.type, required=f.required) for f in info.fields}
        return _serializer_class(f"Capture{info.cls.__name__}", fields)(**options)
    raise TypeError(f"collection.openapi has no mapping for {info!r}")


def _event_serializer(union: mi.UnionType) -> type[serializers.Serializer]:
    kinds: list[mi.StructType] = list(union.types)
    by_name: dict[str, list[mi.Field]] = {}
    for kind in kinds:
        for field in kind.fields:
            by_name.setdefault(field.name, []).append(field)
    fields: dict[str, serializers.Field] = {kinds[0].tag_field: serializers.ChoiceField(choices=[k.tag for k in kinds])}
    for name, declared in by_name.items():
        everywhere = len(declared) == len(kinds) and all(f.required for f in declared)
        fields[name] = _field(declared[0].type, required=everywhere)
    return _serializer_class("CaptureEvent", fields)


def _batch_serializer() -> type[serializers.Serializer]:
    fields = {}
    for field in mi.type_info(UploadBatch).fields:
        if field.name == "events":
            # The struct leaves the count open (too many is a 413, checked after decoding).
            child = _event_serializer(field.type.item_type)()
            fields["events"] = serializers.ListField(child=child, max_length=MAX_EVENTS)
        else:
            fields[field.name] = _field(field.type, required=field.required)
    return _serializer_class("BatchUploadInput", fields)


BatchUploadInputSerializer = _batch_serializer()
