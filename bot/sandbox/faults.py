"""Injected failures: the next matching Bot API calls fail the way asked for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.sandbox.errors import BLOCKED, ApiError, forbidden, too_many_requests

FAULT_CODES = frozenset({400, 403, 429, 500})


@dataclass
class Fault:
    """The next ``times`` calls of ``method`` (into ``user_id``'s chat) fail with ``error_code``."""

    method: str
    error_code: int
    times: int = 1
    retry_after: int | None = None
    user_id: int | None = None
    description: str | None = None

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Whether a call of ``method`` into ``chat_id`` is one this fault takes."""
        if self.times <= 0 or self.method.lower() != method.lower():
            return False
        return self.user_id is None or self.user_id == chat_id

    def error(self) -> ApiError:
        """The error this fault answers with."""
        if self.error_code == 429:
            return too_many_requests(self.retry_after or 1)
        if self.description is not None:
            return ApiError(self.error_code, self.description)
        if self.error_code == 403:
            return forbidden(BLOCKED)
        if self.error_code == 400:
            return ApiError(400, "Bad Request: fault injected by the sandbox")
        return ApiError(self.error_code, "Internal Server Error")


class FaultInjector:
    """The queue of pending faults, matched first-in first-out."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue ``fault``."""
        self._faults.append(fault)

    def take(self, method: str, chat_id: int | None) -> ApiError | None:
        """Consume one matching fault for this call and return its error, if any."""
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.error()
        return None

    def clear(self) -> None:
        """Forget all pending faults."""
        self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The faults still waiting, for the control API."""
        return [asdict(f) for f in self._faults]
