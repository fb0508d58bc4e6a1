"""The configuration of who may see what: sign-in, single sign-on, roles, and personal data.

People sign in (a users file of argon2 hashes, or OpenID Connect); unattended
screens use display keys, kept in Redis and managed with ``wallboard display-key``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The roles, least to most: a team leader sees their teams, a supervisor the floor's wall
#: screens and teams, a manager everything, an admin also the health details, users and keys.
Role = Literal["team_leader", "supervisor", "manager", "admin"]
ROLES: tuple[Role, ...] = ("team_leader", "supervisor", "manager", "admin")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoleMapping(_Frozen):
    """A group (or role) in the identity provider's token, and what it makes the person here."""

    group: str = Field(min_length=1)
    role: Role
    #: For a team leader: the teams they lead; for a supervisor: their floor's teams (empty: all).
    teams: tuple[str, ...] = ()
    #: For a supervisor: their floor's wall screens (empty: all).
    screens: tuple[str, ...] = ()


class OidcSettings(_Frozen):
    """Single sign-on with an OpenID Connect provider (Keycloak, Entra ID, Google Workspace…)."""

    enabled: bool = False
    #: What the sign-in button says ("Entrar con …").
    name: str = "SSO"
    #: The provider's issuer URL; its ``/.well-known/openid-configuration`` is read at start.
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""  # from the environment: ${WALLBOARD_OIDC_SECRET}
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    #: The claim that names the person (shown, and written in the audit log).
    username_claim: str = "preferred_username"
    #: The claim holding the person's groups or roles (a list of strings, or one string).
    groups_claim: str = "groups"
    #: Group → role; a person in several groups gets the highest role, with the teams of every
    #: mapping at that role. A person in none of them is refused.
    roles: tuple[RoleMapping, ...] = ()
    #: Seconds allowed between the provider's clock and ours when checking the ID token.
    leeway_s: int = Field(default=60, ge=0, le=600)

    @model_validator(mode="after")
    def _complete(self) -> OidcSettings:
        if self.enabled:
            missing = [k for k in ("issuer", "client_id", "client_secret") if not getattr(self, k)]
            if missing:
                raise ValueError(f"oidc is enabled but {', '.join(missing)} is empty")
            if not self.roles:
                raise ValueError("oidc is enabled but roles maps no group to a role: nobody could sign in")
            if "openid" not in self.scopes:
                raise ValueError("oidc.scopes must include 'openid'")
        return self


class LoginLimits(_Frozen):
    """Failed sign-ins allowed per window before the login answers 429."""

    per_user: int = Field(default=5, ge=1, le=1000)
    per_address: int = Field(default=20, ge=1, le=100_000)
    window_s: int = Field(default=300, ge=10, le=86_400)


class AuthSettings(_Frozen):
    #: true: no sign-in and no display keys at all, every screen marked OPEN (a local demo only).
    open: bool = False
    #: Local accounts (argon2 hashes), managed with ``wallboard user add|passwd|remove|list``.
    users_file: str = ".wallboard/users.yaml"
    #: A person's session lasts this long after signing in; then they sign in again.
    session_hours: float = Field(default=12, gt=0, le=24 * 31)
    #: Signs session and screen cookies (32+ characters, from the environment). Empty: a random
    #: secret kept in Redis, shared by every web process of this wallboard.
    secret: str = ""
    login_limits: LoginLimits = LoginLimits()
    oidc: OidcSettings = OidcSettings()

    @model_validator(mode="after")
    def _secret_long_enough(self) -> AuthSettings:
        if self.secret and len(self.secret) < 32:
            raise ValueError("auth.secret must be at least 32 characters (or empty for one kept in Redis)")
        return self


class PrivacySettings(_Frozen):
    """How long personal data (agents' states, refused events, the audit log) is kept in Redis."""

    #: Events, refused events, the audit log and checkpoints older than this are trimmed
    #: (hourly by the aggregator, or at once with ``wallboard purge``).
    retention_days: float = Field(default=7, ge=1, le=3650)
    #: Entries of the audit log (sign-ins, refusals, display-key use) kept at most.
    audit_maxlen: int = Field(default=100_000, ge=100, le=10_000_000)
