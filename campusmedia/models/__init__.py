"""The registry: units, people, roles, media accounts, their history, and the audit log."""

from campusmedia.models.accounts import AccountHistory, MediaAccount, Platform, TeamMember
from campusmedia.models.audit import AuditEvent
from campusmedia.models.offices import Office
from campusmedia.models.people import Person, RoleAssignment
from campusmedia.models.units import Unit, UnitGroupObjectPermission, UnitRoleGroup
from campusmedia.models.users import PasswordHistory, User

__all__ = [
    "AccountHistory",
    "AuditEvent",
    "MediaAccount",
    "Office",
    "PasswordHistory",
    "Person",
    "Platform",
    "RoleAssignment",
    "TeamMember",
    "Unit",
    "UnitGroupObjectPermission",
    "UnitRoleGroup",
    "User",
]
