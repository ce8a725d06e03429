"""Sentences every report (PDF, HTML) prints the same way."""

from __future__ import annotations

from ..names import counted


def computed_text(span: dict | None) -> str:
    """The analysis time as reports print it."""
    if span is None:
        return "—"
    if span["first"] == span["last"]:
        return span["first"]
    return f"{span['first']} to {span['last']}"


def summary_text(summary: dict) -> str:
    """The batch summary's sentence: every image counted, errors and duplicates included; then the analyst's
    verdicts."""
    verdicts = ", ".join(
        f"{count} {verdict}" for verdict, count in summary["analyst_verdicts"].items() if count
    )
    return (
        f"{counted(summary['images'], 'image')}: {summary['flagged']} flagged, {summary['not_flagged']} not "
        f"flagged, {counted(summary['errors'], 'error')}, {counted(summary['duplicates'], 'duplicate')} "
        f"(counted with the file they copy), {counted(summary['hash_mismatches'], 'hash mismatch')}. "
        f"Analyst's verdicts: {verdicts}."
    )


def entry_status(entry: dict) -> str:
    if entry["status"] == "error":
        return f"error: {entry['error']}"
    if entry["status"] == "skipped":
        return f"duplicate of {entry['duplicate_of']} (same SHA-256): its results"
    return "analysed"


def verdict_line(verdict: dict) -> str:
    """The analyst's verdict on one image, as every report prints it, attributed."""
    note = f" Note: {verdict['note']}" if verdict["note"] else ""
    return (
        f"{verdict['verdict'].upper()} — recorded by {verdict['analyst']} at {verdict['recorded_at']}.{note}"
    )


def precision_text(model: dict) -> str:
    """The precision a model computed in and why (results written before it was recorded say so)."""
    if "precision" not in model:
        return "not recorded"
    return f"{model['precision']} — {model['precision_reason']}"
