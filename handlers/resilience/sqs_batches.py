"""The consumer's writes in SQS's shape and limits: a copy's message attributes (ours first, then
the producer's, 10 at most), its size as SQS counts it, and batches of at most 10 entries and 1 MiB."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MESSAGE_ATTRIBUTES_MAX", "SEND_BATCH_MAX", "SEND_BATCH_MAX_BYTES", "entry_size"]

SEND_BATCH_MAX = 10  # SQS SendMessageBatch: entries per request
SEND_BATCH_MAX_BYTES = 1_048_576  # SQS SendMessageBatch: 1 MiB for all entries, attributes included
MESSAGE_ATTRIBUTES_MAX = 10  # SQS: message attributes per message
_IDS = tuple(f"m{i}" for i in range(SEND_BATCH_MAX))  # batch entry ids, unique within a request
_ID_INDEX = {entry_id: index for index, entry_id in enumerate(_IDS)}


def _forwarded_attributes(given: Any, ours: dict[str, Any]) -> dict[str, Any]:
    """``ours`` (already in SendMessage's shape) plus the producer's message attributes converted
    from Lambda's camelCase, ours first: SQS allows 10 per message, and the carried age must not be
    the one cut."""
    if not given or not isinstance(given, Mapping):  # the common case, kept cheap
        return ours
    out = dict(ours)
    for name, value in given.items():
        if name in out or len(out) >= MESSAGE_ATTRIBUTES_MAX or type(name) is not str:
            continue
        converted = _attribute_for_send(value)
        if converted is not None:
            out[name] = converted
    return out


def _attribute_for_send(value: Any) -> dict[str, Any] | None:
    """One attribute as Lambda delivers it, in SendMessage's shape; None for one SQS could not
    have delivered (not an object, a type or text that is not a string, binary that is not
    base64): it is left off the copy rather than failing the message's write."""
    if not isinstance(value, Mapping):
        return None
    data_type = value.get("dataType") or value.get("DataType") or "String"
    text = value.get("stringValue", value.get("StringValue"))
    binary = value.get("binaryValue", value.get("BinaryValue"))
    if type(data_type) is not str:
        return None
    if text is not None:
        return {"DataType": data_type, "StringValue": text} if type(text) is str else None
    if type(binary) is str:
        try:
            binary = base64.b64decode(binary, validate=True)
        except ValueError:  # binascii.Error
            return None
    return {"DataType": data_type, "BinaryValue": binary} if type(binary) is bytes else None


def entry_size(entry: Mapping[str, Any]) -> int:
    """Bytes SQS counts for one entry: the body plus each attribute's name, type and value."""
    body = str(entry.get("MessageBody", ""))
    size = len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name) + len(value["DataType"])  # names and types are ASCII (SQS)
        if "StringValue" in value:
            text = str(value["StringValue"])
            size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        else:
            size += len(value.get("BinaryValue") or b"")
    return size


def _total(entries: Sequence[tuple[str, Any, int]]) -> int:
    return sum([size for _, _, size in entries])


def _batches(sized: Sequence[tuple[int, Any]], max_entries: int, max_bytes: int) -> list[list[Any]]:
    """Consecutive groups of at most ``max_entries`` items and ``max_bytes`` in total (an item
    larger than ``max_bytes`` goes alone: SQS will refuse it, and only it)."""
    groups: list[list[Any]] = []
    current: list[Any] = []
    total = 0
    for size, item in sized:
        if current and (len(current) >= max_entries or total + size > max_bytes):
            groups.append(current)
            current, total = [], 0
        current.append(item)
        total += size
    if current:
        groups.append(current)
    return groups
