"""A resource problem as the resource picker reads it: ``{"field", "message", "suggestions",
"severity"}``. An "error" stops the job; a "warning" does not."""

from __future__ import annotations

from typing import Any


def _problem(
    severity: str, field: str, message: str, suggestions: list[Any] | None
) -> dict[str, Any]:
    return {
        "field": field,
        "message": message,
        "suggestions": [str(s) for s in suggestions or []],
        "severity": severity,
    }


def error(field: str, message: str, suggestions: list[Any] | None = None) -> dict[str, Any]:
    """A problem that stops the job."""
    return _problem("error", field, message, suggestions)


def warning(field: str, message: str, suggestions: list[Any] | None = None) -> dict[str, Any]:
    """A doubt the user should see; the job may still run."""
    return _problem("warning", field, message, suggestions)


def whole_number(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
