"""Batches: the documents of a request, and the answer Xero gives for all of them (summarizeErrors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .values import XeroValueError, envelope, present, validation_exception


@dataclass
class Outcome:
    """One document of a batch: what to answer with, and its validation errors."""

    doc: dict[str, Any]
    errors: list[str]


def batch_items(body: Any, collection: str) -> list[Any]:
    """The documents of a request body: ``{"Invoices": [...]}``, a list, or one document."""
    if isinstance(body, dict) and collection in body:
        items = body[collection]
        return items if isinstance(items, list) else [items]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise XeroValueError(f"The request body must hold {collection}")


def batch_answer(collection: str, outcomes: list[Outcome], summarize: bool) -> tuple[int, dict[str, Any]]:
    """Xero's answer to a batch: 200 with per-document status, or 400 ValidationException."""
    failed = [o for o in outcomes if o.errors]
    if summarize and failed:
        elements = [
            {**present(o.doc), "HasErrors": True, "ValidationErrors": [{"Message": m} for m in o.errors]}
            for o in failed
        ]
        return 400, validation_exception(elements)
    items = []
    for outcome in outcomes:
        item = present(outcome.doc)
        if outcome.errors:
            item.update(
                {
                    "StatusAttributeString": "ERROR",
                    "HasErrors": True,
                    "ValidationErrors": [{"Message": m} for m in outcome.errors],
                }
            )
        else:
            item["StatusAttributeString"] = "OK"
        items.append(item)
    return 200, envelope(collection, items)
