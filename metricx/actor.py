"""Who is acting: every service call that changes something names its actor."""

from __future__ import annotations

from dataclasses import dataclass

from metricx.errors import PermissionDeniedError


@dataclass(frozen=True)
class Actor:
    workspace_id: int
    role: str  # "admin" | "member"
    label: str  # an email, or "cli" / "scheduler" for machines
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self, action: str) -> None:
        """Admin-only services call this themselves: hiding a page is not access control."""
        if not self.is_admin:
            raise PermissionDeniedError(f"only an admin can {action}")

    @classmethod
    def system(cls, workspace_id: int, label: str = "cli") -> Actor:
        return cls(workspace_id=workspace_id, role="admin", label=label)
