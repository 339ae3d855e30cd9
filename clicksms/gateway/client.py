"""An authenticated connection to one Clickatell API connection.

Reuses the stored session while it is fresh, authenticates when it is not, and on ``ERR: 003``
re-authenticates once and repeats the call — safe, because 003 means the gateway accepted
nothing. Every exchange (logins included) goes through :mod:`clicksms.gateway.retry`, which repeats
it only where that cannot duplicate a message. Commands call :meth:`GatewayClient.call` and never
see session IDs.

With per-request credentials (``Settings.no_session``) every request carries ``api_id``,
``user`` and ``password`` instead: ``auth`` is never called, and no session file is read,
written or created. The password is then asked for once and kept in memory only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from clicksms.config import Settings
from clicksms.errors import AuthError, ClickSmsError, ConfigError, NetworkError
from clicksms.gateway.responses import parse_session_id, session_expired
from clicksms.gateway.retry import RetryPolicy, call_with_retries
from clicksms.gateway.session import SessionStore, StoredSession

#: Re-writing the session file on every call would cost a disk write per request in bulk;
#: a few seconds of staleness is far inside the safety margin of :mod:`clicksms.gateway.session`.
_TOUCH_INTERVAL = 10.0

PasswordSource = Callable[[], "str | None"]
#: Told about a failure that does not change a call's outcome (the session file could not be
#: updated); the CLI prints it as a warning. The client itself never prints.
WarningSink = Callable[[str], None]
#: Told, in the calling thread, that a call is about to be tried again: the gateway or the
#: network pushed back (ERR 901, a failure that may pass). bulk's concurrency listens.
RetryWatch = Callable[[], None]


def _ignore(message: str) -> None:
    pass


def _unwatched() -> None:
    pass


class GatewayClient:
    """Session-aware gateway calls for one endpoint/api_id/user."""

    def __init__(
        self,
        settings: Settings,
        password: PasswordSource,
        store: SessionStore | None = None,
        clock: Callable[[], float] = time.time,
        on_warning: WarningSink = _ignore,
    ) -> None:
        self.settings = settings
        #: The session file; None with per-request credentials, which keep no state.
        self.store: SessionStore | None = (
            None
            if settings.no_session
            else store or SessionStore(settings.config_dir, settings.profile)
        )
        self._password = password
        self._warn = on_warning
        self._clock = clock
        self._client: Any = None
        self._retry = RetryPolicy(settings.retries, settings.retry_delay)
        self._session: StoredSession | None = None
        self._credentials: dict[str, Any] | None = None  # per-request ones, once known
        # bulk calls from several threads: one login at a time, one shared session.
        self._lock = threading.RLock()
        self._stopping = threading.Event()  # set by stop_retrying()
        self.on_retry: RetryWatch = _unwatched

    @property
    def soap(self) -> Any:
        """The SOAP client, built on first use.

        It starts from what earlier runs learned from zeep (kept in the config dir beside the
        session; not with per-request credentials, which keep no state at all), so a call of
        a known shape needs neither zeep nor the WSDL (:mod:`clicksms.gateway.learned`).
        """
        with self._lock:
            if self._client is None:
                from clicksms.gateway.learned import LearnedFile
                from clicksms.gateway.soap import SoapClient, soap_style

                s = self.settings
                style = soap_style(s.soap_style)
                learned = None if s.no_session else LearnedFile(s.config_dir, style)
                self._client = SoapClient(
                    s.endpoint, s.timeout, s.connect_timeout, style, learned=learned
                )
            return self._client

    def ready(self) -> None:
        """Be ready to call, before anything is sent: a failure here cannot have sent anything.

        A session that is fresh, or a new login; with per-request credentials, all three at
        hand (nothing goes on the wire: the first request tells whether they are good).
        """
        if self.store is None:
            self._request_credentials()
        else:
            self.session()

    def check_credentials(self) -> None:
        """Have the gateway check the credentials without a session: one ``getbalance``.

        What ``auth`` and ``ping`` do with per-request credentials: it changes nothing and
        costs nothing, and the gateway answers it only for an account it accepts.
        """
        from clicksms.gateway.responses import parse_balance, single_reply

        parse_balance(single_reply(self.call("getbalance"), "getbalance"))

    def authenticate(self, replacing: StoredSession | None = None) -> StoredSession:
        """Log in and store the new session in place of any stored one.

        ``replacing`` is the stale or expired session being renewed, if any: its api_id and
        user fill gaps in the settings, and a missing password is explained as its expiry.
        """
        with self._lock:
            return self._authenticate(replacing)

    def _authenticate(self, replacing: StoredSession | None) -> StoredSession:
        if self.store is None:
            raise ConfigError("per-request credentials (--no-session) never log in")
        renewing = replacing or self._session
        api_id, user = self._identity(renewing or self._stored_quietly())
        password = self._password()
        if not password:
            expired = renewing is not None and renewing.matches(
                self.settings.endpoint, api_id, user
            )
            why = "the stored session has expired and there is no password" if expired else ""
            raise AuthError(
                f"{why or 'no password'}: set CLICKSMS_PASSWORD (environment or .env), "
                "pipe it to `clicksms auth --password-stdin`, or run `clicksms auth` on a terminal"
            )
        replies = self._exchange("auth", api_id=int(api_id), user=user, password=password)
        session_id = parse_session_id(replies[0])
        now = self._clock()
        self._session = StoredSession(
            endpoint=self.settings.endpoint,
            api_id=api_id,
            user=user,
            session_id=session_id,
            created_at=now,
            last_used=now,
        )
        self.store.save(self._session)
        return self._session

    def session(self) -> StoredSession:
        """A session we may use now: the stored one when fresh and ours, else a new one."""
        with self._lock:
            return self._current_session()

    def _current_session(self) -> StoredSession:
        if self._session is None:
            stored = self.store.load()
            s = self.settings
            if (
                stored
                and stored.matches(s.endpoint, s.api_id, s.user)
                and stored.is_fresh(self._clock())
            ):
                self._session = stored
            else:
                self._session = self.authenticate(stored)
        return self._session

    def prepare(self, operation: str, **fields: Any) -> None:
        """Have what a :meth:`call` of these fields needs before it goes out: the session
        (or credentials), and zeep unless the call's shape was learned (see
        :meth:`~clicksms.gateway.soap.SoapClient.prepare_for`). Nothing is sent."""
        if self.store is None:
            auth: dict[str, Any] = self._request_credentials()
        else:
            auth = {"session_id": self.session().session_id}
        self.soap.prepare_for(operation, {**auth, **fields})

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Call ``operation`` with the session; one transparent re-auth on ERR 003.

        With per-request credentials, the request carries them instead.
        """
        if self.store is None:
            return self._exchange(operation, **self._request_credentials(), **fields)
        session = self.session()
        replies = self._exchange(operation, session_id=session.session_id, **fields)
        if session_expired(replies):
            session = self._renew(session)
            replies = self._exchange(operation, session_id=session.session_id, **fields)
        self._touch()
        return replies

    def _exchange(self, operation: str, **fields: Any) -> list[str]:
        """One SOAP call, repeated only where :mod:`clicksms.gateway.retry` says it is safe."""
        client = self.soap
        return call_with_retries(
            operation, lambda: client.call(operation, **fields), self._retry, self._pause
        )

    def stop_retrying(self) -> None:
        """End every pause before another try at once, in every thread (bulk is stopping).

        Ctrl-C reaches only the main thread; bulk's workers pause in their own threads.
        """
        self._stopping.set()

    def keep_retrying(self) -> None:
        """Pauses last their full time again (the bulk run that stopped them is over)."""
        self._stopping.clear()

    def _pause(self, seconds: float) -> None:
        """Wait before another try; cut short, as by Ctrl-C, once stop_retrying() is called."""
        self.on_retry()
        if self._stopping.wait(seconds):
            raise KeyboardInterrupt  # retry.py turns it into PauseInterrupted

    def _renew(self, expired: StoredSession) -> StoredSession:
        """A new session after ERR 003; threads that hit the same expiry share one login."""
        with self._lock:
            if self._session is not None and self._session.session_id != expired.session_id:
                return self._session  # another thread already logged in again
            self._forget_quietly()  # dead either way; `auth --status` must not call it usable
            try:
                return self._authenticate(None)
            except NetworkError as exc:  # the 003 answer means the first try was not accepted
                exc.may_have_arrived = False  # same error otherwise (permanent, retry_after)
                raise

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _request_credentials(self) -> dict[str, Any]:
        """api_id, user and password for every request (--no-session), found once."""
        with self._lock:
            if self._credentials is None:
                api_id, user = self._identity(None)
                password = self._password()
                if not password:
                    raise AuthError(
                        "no password: set CLICKSMS_PASSWORD (environment or .env); "
                        "--no-session sends it with every request"
                    )
                self._credentials = {"api_id": int(api_id), "user": user, "password": password}
            return self._credentials

    def _identity(self, previous: StoredSession | None) -> tuple[str, str]:
        if previous is not None and previous.endpoint != self.settings.endpoint:
            previous = None
        api_id = self.settings.api_id or (previous.api_id if previous else None)
        user = self.settings.user or (previous.user if previous else None)
        if not api_id:
            raise AuthError("no API ID: set CLICKSMS_API_ID (environment or .env) or pass --api-id")
        if not user:
            raise AuthError("no user name: set CLICKSMS_USER (environment or .env) or pass --user")
        return api_id, user

    def _stored_quietly(self) -> StoredSession | None:
        """The stored session if it can be read; a new login replaces it either way."""
        try:
            return self.store.load()
        except ClickSmsError:
            return None

    def _forget_quietly(self) -> None:
        try:
            self.store.forget()
        except ClickSmsError as exc:
            self._warn(f"could not remove the expired session: {exc}")

    def _touch(self) -> None:
        """Slide the stored last-use time; best effort, as the call itself already succeeded.

        A failure here must not hide what the gateway just accepted: the worst outcome of a
        missed update is one extra ``auth`` next time.
        """
        now = self._clock()
        if self._session is None or now - self._session.last_used < _TOUCH_INTERVAL:
            return
        with self._lock:
            if self._session is None or now - self._session.last_used < _TOUCH_INTERVAL:
                return  # another thread just did it
            try:
                self._session = self.store.touch(self._session, now)
            except (ClickSmsError, OSError) as exc:
                self._warn(f"could not update the stored session: {exc}")
