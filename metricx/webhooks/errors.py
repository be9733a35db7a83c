"""A webhook request refused with a status and a message that says why (never a traceback)."""

from __future__ import annotations


class Rejected(Exception):
    """Refuse the request: `status` is the HTTP answer, the message its one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"error": self.message}
