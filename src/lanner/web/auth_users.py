"""The basic-auth user: the one the configuration names, or the one the setup page created (Kestra 0.24+).

With authentication on (``lanner.server.basic-auth.enabled``) and no username and
password in the configuration, the first visit of the UI asks for a user
(``/ui/setup``, or ``POST /api/v1/basicAuth`` as Kestra's UI sends it).  The user is
stored in the database (``instance_settings``), never in clear: the password as a
salted scrypt hash.  Every webserver of the cluster reads it from there, and derives
the session cookies' signing key from that hash, so they all accept each other's
sessions.  It can be created once: afterwards the setup refuses.  A username and
password in the configuration win over the stored user.

The rules are Kestra's: the user name is an email address, the password has at least 8
characters with a lower-case letter, an upper-case letter and a digit, neither longer
than 256 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.store import settings_repository
from lanner.store.database import write_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.settings import BasicAuth

log = logging.getLogger(__name__)

USER_KEY = "basic_auth_user"  # instance_settings: the user created on the setup page
USER_REFRESH = 1.0  # seconds between two reads of the stored user
MAX_LENGTH = 256
_EMAIL = re.compile(r"^[A-Za-z0-9_!#$%&'*+/=?`{|}~^.-]+@[A-Za-z0-9.-]+$")
# scrypt's cost: 16 MiB and some 50 ms per check; a successful check is then remembered.
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
_REMEMBERED = 1000  # verified (user, password) pairs kept per user, to spare scrypt on every request


def problems(username: str, password: str) -> list[str]:
    """What keeps these credentials from Kestra's rules (empty: none), in words a person can act on."""
    found = []
    if not username:
        found.append("the user name is missing: give an email address, e.g. admin@example.com")
    elif not _EMAIL.match(username):
        found.append(f"the user name must be an email address, e.g. admin@example.com (got {username[:100]!r})")
    if not password:
        found.append("the password is missing")
    else:
        lacks = [what for what, ok in (("8 characters", len(password) >= 8),
                                       ("a lower-case letter", any(c.islower() for c in password)),
                                       ("an upper-case letter", any(c.isupper() for c in password)),
                                       ("a digit", any(c.isdigit() for c in password))) if not ok]
        if lacks:
            found.append("the password must have at least 8 characters, with a lower-case letter, an upper-case "
                         f"letter and a digit (it lacks {', '.join(lacks)})")
    if len(username) > MAX_LENGTH or len(password) > MAX_LENGTH:
        found.append(f"the user name and the password may not be longer than {MAX_LENGTH} characters")
    return found


def hashed(password: str, salt: bytes, cost: dict[str, int] | None = None) -> bytes:
    cost = cost or SCRYPT
    return hashlib.scrypt(password.encode(), salt=salt, n=cost["n"], r=cost["r"], p=cost["p"], dklen=32,
                          maxmem=64 * 1024 * 1024)


def new_record(username: str, password: str) -> dict[str, Any]:
    """The stored form of a user: the password salted and hashed, never in clear."""
    salt = secrets.token_bytes(16)
    return {"username": username, "algorithm": "scrypt", **SCRYPT, "salt": _b64(salt),
            "hash": _b64(hashed(password, salt)), "createdAt": datetime.now(UTC).isoformat()}


class UserExists(Exception):
    """The setup ran already (here or on another webserver)."""


def create(engine: Engine, username: str, password: str) -> None:
    """Store the first user; :class:`UserExists` if one is there already (only one creation ever wins)."""
    record = new_record(username, password)
    with write_connection(engine) as connection, connection.begin():
        if connection.dialect.name == "postgresql":  # two setups at once: the second waits, then sees the first
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(0x4C55534552)))  # "LUSER"
        if settings_repository.get(connection, USER_KEY) is not None:
            raise UserExists
        settings_repository.put(connection, USER_KEY, record)
    log.info("basic authentication: user %s created on the setup page", username)


def stored(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as connection:
        record: dict[str, Any] | None = settings_repository.get(connection, USER_KEY)
    return record


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Credentials:
    """One user and password: checks them, and signs and checks session cookies with a key derived from them."""

    def __init__(self, username: str, key: bytes) -> None:
        self.username = username
        self._user = username.encode()
        self._key = key

    def valid(self, user: bytes, password: bytes) -> bool:
        raise NotImplementedError

    def session(self, now: float | None = None) -> str:
        from lanner.web.auth import SESSION_SECONDS

        session_id = secrets.token_urlsafe(16)
        expires = str(int((now or time.time()) + SESSION_SECONDS))
        return f"{session_id}.{expires}.{self._sign(session_id, expires)}"

    def session_id(self, cookie: str, now: float | None = None) -> str | None:
        """The id of a valid, unexpired session cookie (revocation aside); None otherwise."""
        session_id, _, rest = cookie.partition(".")
        expires, _, signature = rest.partition(".")
        if (not session_id or not expires.isdigit()
                or not hmac.compare_digest(signature, self._sign(session_id, expires))):
            return None
        return session_id if int(expires) > (now or time.time()) else None

    def session_valid(self, cookie: str, now: float | None = None) -> bool:
        return self.session_id(cookie, now) is not None

    def _sign(self, session_id: str, expires: str) -> str:
        digest = hmac.new(self._key, f"{session_id}|{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class ConfiguredCredentials(Credentials):
    """The user and password of the configuration (file or environment)."""

    def __init__(self, settings: BasicAuth) -> None:
        self._password = settings.password.encode()
        # Derived from the credentials: every webserver agrees, and a new password ends old sessions.
        super().__init__(settings.username, hmac.new(self._password, b"lanner session v1|" + settings.username.encode(),
                                                     hashlib.sha256).digest())

    def valid(self, user: bytes, password: bytes) -> bool:
        # Both compared, always: how long it takes says nothing about which one was wrong.
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return user_ok and password_ok


class StoredCredentials(Credentials):
    """The user created on the setup page, as stored: a salted scrypt hash of the password."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self._salt = base64.b64decode(record["salt"])
        self._hash = base64.b64decode(record["hash"])
        self._cost = {name: int(record[name]) for name in ("n", "r", "p")}
        self._verified: dict[bytes, None] = {}  # digests of (user, password) pairs that matched
        self._lock = threading.Lock()
        super().__init__(record["username"], hmac.new(self._hash, b"lanner session v1|" + record["username"].encode(),
                                                      hashlib.sha256).digest())

    def valid(self, user: bytes, password: bytes) -> bool:
        remembered = hashlib.sha256(self._salt + user + b"\x00" + password).digest()
        with self._lock:
            if remembered in self._verified:
                return True
        # The hash is computed even for a wrong user: timing says nothing about which one was wrong.
        password_ok = hmac.compare_digest(hashed(password.decode(errors="replace"), self._salt, self._cost),
                                          self._hash)
        ok = hmac.compare_digest(user, self._user) and password_ok
        if ok:
            with self._lock:
                if len(self._verified) >= _REMEMBERED:
                    self._verified.pop(next(iter(self._verified)))
                self._verified[remembered] = None
        return ok


class UserSource:
    """Where a webserver finds its user: the configuration's, else the stored one (read at most once a second).

    ``current()`` is None until the setup page has created the user.
    """

    def __init__(self, settings: BasicAuth, engine: Engine) -> None:
        self.settings = settings
        self._engine = engine
        self._configured = ConfiguredCredentials(settings) if settings.configured else None
        self._current: Credentials | None = self._configured
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self._configured is not None

    def fresh(self) -> bool:
        """Whether :meth:`current` answers without reading the database."""
        return self._configured is not None or time.monotonic() - self._read_at < USER_REFRESH

    def current(self) -> Credentials | None:
        if self._configured is not None:
            return self._configured
        if self.fresh():
            return self._current
        record = stored(self._engine)
        with self._lock:
            previous = self._current
            if record is None:
                self._current = None
            elif not isinstance(previous, StoredCredentials) or previous.record != record:
                self._current = StoredCredentials(record)  # a changed user: its remembered checks go
            self._read_at = time.monotonic()
            return self._current

    def created(self) -> None:
        """The setup just stored the user: read it now rather than within a second."""
        with self._lock:
            self._read_at = float("-inf")
