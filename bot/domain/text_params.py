"""Parameters of a ``Text`` that ``messages`` formats in the reader's language.

Each is a plain JSON object (so it keeps in an outbox row): a moment (``when``) is
formatted with the reader's locale in the zone it names; an embedded text (``embed``) is
rendered in the same language as the text around it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.outgoing import Text


def when(at: datetime, timezone: str, style: str = "datetime") -> dict[str, str]:
    """A ``Text`` parameter for a moment shown in ``timezone``, formatted for the reader.

    ``style`` is ``datetime``, ``date``, ``short_date``, ``short_datetime`` or ``time``.
    It is plain JSON, so it keeps in an outbox row; ``messages`` formats it in the
    reader's language.
    """
    return {"$datetime": at.isoformat(), "tz": timezone, "style": style}


def embed(text: Text) -> dict[str, Any]:
    """A ``Text`` parameter that is itself a catalog text, rendered in the same language."""
    return {"$text": text.key, "params": dict(text.params)}
