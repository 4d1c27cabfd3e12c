"""Authentication: opaque API tokens (hashed, revocable, expiring) and JWTs from an external
identity provider (issuer, audience and keys configured; nothing fetched over the network)."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jwt
from sqlalchemy import CursorResult, select, update

from om_graph.core.access.actor import Actor
from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.access.models import ApiToken
from om_graph.core.access.permissions import ALL_ROLES, Role
from om_graph.core.kernel.errors import DomainError, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork

if TYPE_CHECKING:
    from jwt.algorithms import AllowedPublicKeys

    VerifyingKey = AllowedPublicKeys | str | bytes  # bytes: an HMAC key from a JWK set

TOKEN_PREFIX = "omg_"


class AuthenticationFailed(DomainError):
    code = AccessErrorCode.UNAUTHENTICATED


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str
    subject: str
    roles: tuple[str, ...]
    account_id: str | None
    expires_at: datetime | None


class TokenService:
    """Issue, verify, list and revoke API tokens. Verified tokens are cached for
    ``cache_seconds`` so each request does not cost a query; revocation takes effect within
    that time."""

    def __init__(self, uow: Callable[..., UnitOfWork], *, cache_seconds: float = 10.0):
        self._uow = uow
        self._cache: dict[str, tuple[float, Actor | None]] = {}
        self._lock = threading.Lock()
        self.cache_seconds = cache_seconds

    def issue(
        self,
        subject: str,
        roles: list[str],
        *,
        account_id: str | None = None,
        name: str = "",
        expires_in: timedelta | None = timedelta(days=90),
        demo: bool = False,
    ) -> IssuedToken:
        unknown = sorted(set(roles) - ALL_ROLES)
        errors = []
        if not subject.strip():
            errors.append(("subject", "is required", "REQUIRED"))
        if not roles:
            errors.append(("roles", "at least one role", "REQUIRED"))
        if unknown:
            errors.append(("roles", f"unknown roles {unknown}; known: {sorted(ALL_ROLES)}", "UNKNOWN_ROLE"))
        if Role.CUSTOMER.value in roles and not account_id:
            errors.append(("accountId", "a customer token belongs to an account", "REQUIRED"))
        if account_id and set(roles) != {Role.CUSTOMER.value}:
            errors.append(("roles", "an account token carries the customer role only", "INVALID"))
        if errors:
            from om_graph.core.kernel.errors import FieldError

            raise ValidationFailed([FieldError(f, m, c) for f, m, c in errors])
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._uow() as uow:
            row = ApiToken(
                token_hash=hash_token(token),
                prefix=token[:12],
                subject=subject,
                name=name,
                roles=sorted(roles),
                account_id=account_id,
                demo=demo,
                expires_at=utcnow() + expires_in if expires_in else None,
            )
            uow.session.add(row)
            uow.session.flush()
            return IssuedToken(row.id, token, subject, tuple(row.roles), account_id, row.expires_at)

    def verify(self, token: str) -> Actor:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(token)
        if cached and cached[0] > now:
            if cached[1] is None:
                raise AuthenticationFailed("invalid or expired token")
            return cached[1]
        actor = self._lookup(token)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + self.cache_seconds, actor)
        if actor is None:
            raise AuthenticationFailed("invalid or expired token")
        return actor

    def cached(self, token: str) -> Actor | None:
        with self._lock:
            entry = self._cache.get(token)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def _lookup(self, token: str) -> Actor | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._uow(read_only=True) as uow:
            row = uow.session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
        if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= utcnow()):
            return None
        return Actor(f"token:{row.subject}", frozenset(row.roles), row.account_id)

    def revoke(self, token_id: int) -> bool:
        with self._uow() as uow:
            result = uow.session.execute(
                update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
            )
        with self._lock:
            self._cache.clear()
        return cast("CursorResult[Any]", result).rowcount == 1  # an UPDATE's result is a CursorResult

    def list(self) -> list[ApiToken]:
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(select(ApiToken).order_by(ApiToken.id)))

    def active_demo_tokens(self) -> int:
        with self._uow(read_only=True) as uow:
            rows = uow.session.scalars(select(ApiToken).where(ApiToken.demo.is_(True), ApiToken.revoked_at.is_(None))).all()
        now = utcnow()
        return sum(1 for r in rows if not r.expires_at or r.expires_at > now)


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str
    keys: str  # a JWKS file, a PEM public key file, or (HS*) a shared secret
    algorithms: tuple[str, ...] = ("RS256",)
    roles_claim: str = "roles"
    account_claim: str = "account_id"
    leeway_seconds: int = 30


class JwtVerifier:
    def __init__(self, settings: JwtSettings):
        self.settings = settings
        self._keys = self._load_keys(settings)

    @staticmethod
    def _load_keys(settings: JwtSettings) -> dict[str | None, VerifyingKey]:
        path = Path(settings.keys)
        if not path.exists():
            return {None: settings.keys}  # a shared secret
        text = path.read_text()
        if text.lstrip().startswith("{"):
            keys: dict[str | None, VerifyingKey] = {}
            for jwk in json.loads(text).get("keys", []):
                keys[jwk.get("kid")] = jwt.PyJWK(jwk).key
            return keys
        return {None: text}

    def verify(self, token: str) -> Actor:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid")) or self._keys.get(None)
            if key is None and len(self._keys) == 1:
                key = next(iter(self._keys.values()))
            if key is None:
                raise AuthenticationFailed("unknown signing key")
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"invalid token: {exc}") from None
        roles = claims.get(self.settings.roles_claim) or []
        if isinstance(roles, str):
            roles = roles.split()
        account = claims.get(self.settings.account_claim)
        roles = frozenset(r for r in roles if r in ALL_ROLES)
        if account and roles != {Role.CUSTOMER.value}:
            roles = frozenset({Role.CUSTOMER.value})  # an account-bound identity is a customer, whatever else it claims
        if not roles:
            raise AuthenticationFailed("the token grants no om-graph role")
        return Actor(f"jwt:{claims['sub']}", roles, str(account) if account else None)


class Authenticator:
    """Turns a bearer credential into an Actor: om-graph tokens first, then JWTs if configured."""

    def __init__(self, tokens: TokenService, jwt_verifier: JwtVerifier | None = None):
        self.tokens = tokens
        self.jwt = jwt_verifier

    def from_cache(self, credential: str | None) -> Actor | None:
        """The actor for a recently verified API token, without touching the database."""
        if not credential:
            return None
        token = credential.strip().partition(" ")[2].strip() or credential.strip()
        return self.tokens.cached(token)

    def authenticate(self, credential: str | None) -> Actor:
        if not credential:
            raise AuthenticationFailed("authentication required")
        scheme, _, value = credential.strip().partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else credential.strip()
        if token.startswith(TOKEN_PREFIX):
            return self.tokens.verify(token)
        if self.jwt is not None and token.count(".") == 2:
            return self.jwt.verify(token)
        raise AuthenticationFailed("invalid or expired token")
