from k12shared.auth.deps import (
    CurrentPrincipal,
    IngestReader,
    IngestWriter,
    MetricsReader,
    MetricsWriter,
    PlatformAdmin,
    RoutinesReader,
    RoutinesWriter,
    get_principal,
    requires,
)
from k12shared.auth.keys import Keyring
from k12shared.auth.principal import Principal, PrincipalKind, Role, Scope
from k12shared.auth.tokens import issue_token, service_token, verify_identity_token, verify_token

__all__ = [
    "CurrentPrincipal",
    "IngestReader",
    "IngestWriter",
    "Keyring",
    "MetricsReader",
    "MetricsWriter",
    "PlatformAdmin",
    "Principal",
    "PrincipalKind",
    "Role",
    "RoutinesReader",
    "RoutinesWriter",
    "Scope",
    "get_principal",
    "issue_token",
    "requires",
    "service_token",
    "verify_identity_token",
    "verify_token",
]
