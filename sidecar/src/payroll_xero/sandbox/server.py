"""The HTTP side of the sandbox: a threading stdlib server, the :class:`Sandbox` facade and :func:`serve`."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import signal
import sys
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import seed
from .admin_calls import AdminCalls
from .app import App
from .identity import is_loopback_host
from .limits import Faults, RateLimiter
from .messages import Request, Response, json_response
from .store import Store

_logger = logging.getLogger(__name__)

DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.invoices accounting.contacts accounting.settings.read "
    "accounting.manualjournals accounting.attachments"
)
MAX_BODY = 16 * 1024 * 1024  # Xero takes 3.5 MB per request
ALLOW_REMOTE_ENV = "PAYROLL_XERO_SANDBOX_ALLOW_REMOTE"
_DIGITS = re.compile(r"^\s*[0-9]{1,20}\s*$")


def is_loopback_bind(host: str) -> bool:
    """Whether listening on ``host`` keeps the sandbox on this machine (``""``/``0.0.0.0`` do not)."""
    return is_loopback_host(host)


class RemoteBindRefused(OSError):
    """The sandbox was asked to listen on an address other machines can reach."""


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the :class:`App` answer it, writes the answer (or hangs up)."""

    protocol_version = "HTTP/1.1"
    # Answers go out at once: with Nagle on, every keep-alive answer waited ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "XeroSandbox/1.0"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds
    body_timeout = 2.0  # a request body that stops arriving for this long is answered 400
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("%s - %s", self.address_string(), format % args)

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request that cannot be read, and close the connection (its body is unknown)."""
        self.close_connection = True
        self._send(json_response(status, {"error": message}, {"Connection": "close"}))

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 400/413 (bad, too large or missing Content-Length
        body): a client that announces more than it sends gets its answer after ``body_timeout``."""
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not _DIGITS.match(raw):
            self._refuse(400, f"Content-Length must be a number of bytes, not '{raw.strip()[:40]}'.")
            return None
        length = int(raw.strip())
        if length > MAX_BODY:
            self._refuse(413, f"The request body is larger than the sandbox takes ({MAX_BODY:,} bytes).")
            return None
        if not length:
            return b""
        self.connection.settimeout(self.body_timeout)
        try:
            body = self.rfile.read(length)
        except OSError:  # TimeoutError included: the client stopped sending
            body = b""
        finally:
            self.connection.settimeout(self.timeout)
        if len(body) < length:
            self._refuse(400, f"The request body is shorter than its Content-Length ({length} bytes).")
            return None
        return body

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        request = Request(
            self.command,
            parts.path or "/",
            parse_qsl(parts.query, keep_blank_values=True),
            self.headers,
            body,
        )
        response = self.server.app.dispatch(request)
        if response.drop:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app


class _ConsentForm(HTMLParser):
    """The consent form of the authorize page: its action, hidden fields and organisation checkboxes."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: list[tuple[str, str]] = []
        self.tenants: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden.append((a.get("name", ""), a.get("value", "")))
        elif tag == "input" and a.get("type") == "checkbox" and a.get("name") == "tenant":
            self.tenants.append(a.get("value", ""))


class Sandbox(AdminCalls):
    """A local stand-in for Xero (login, identity and accounting API) on one base URL.

    >>> with Sandbox() as sb:                                   # doctest: +SKIP
    ...     redirect = sb.approve(authorize_url)                # what the user's browser would do

    State lives in memory, or in the SQLite file ``db_path`` (kept across restarts). Limits are per
    organisation and app: ``minute_limit`` calls per rolling minute, ``concurrent_limit`` in flight,
    ``day_limit`` per rolling day. A Sandbox is started once and stopped once.

    It is a local test double with public demo credentials and unauthenticated admin endpoints: it
    listens on a loopback address only, unless ``allow_remote`` says otherwise (a container whose
    port is published on the host's loopback, say). ``redirect_uris`` are registered for the demo
    app on top of the loopback URIs it always accepts.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | None = None,
        minute_limit: int = 60,
        concurrent_limit: int = 5,
        day_limit: int = 5000,
        *,
        redirect_uris: tuple[str, ...] | list[str] = (),
        allow_remote: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.db_path = db_path
        self.allow_remote = allow_remote
        self.store = Store(db_path)
        self.faults = Faults()
        self.limiter = RateLimiter(minute_limit, concurrent_limit, day_limit)
        self.app = App(
            self.store, self.faults, self.limiter, redirect_uris=redirect_uris, allow_remote=allow_remote
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Listen and serve in a background thread (``port=0`` picks a free port)."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        if not self.allow_remote and not is_loopback_bind(self.host):
            raise RemoteBindRefused(
                f"The Xero sandbox listens on a loopback address only (127.0.0.1, localhost, ::1), not "
                f"'{self.host}': it has public demo credentials and open admin endpoints. Allow other "
                "machines explicitly (--allow-remote, allow_remote=True) only inside a private network."
            )
        self._server = _Server((self.host, self.port), self.app)
        self.port = self._server.server_address[1]
        self.app.identity.issuer = self.url
        self.app.set_own_port(self.port, self.host)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"xero-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake calls held by timeout faults and close the database."""
        self.app.wake_sleepers()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL of all three Xero hosts, e.g. ``http://127.0.0.1:54321``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 - a URL, not a bind
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        """Back to the seeded state: no documents, tokens, codes, connections or faults; fresh limits."""
        self.app.reset()

    # --- what a user does in a browser --------------------------------------------------------------------

    def approve(self, authorize_url: str, tenant_ids: list[str] | None = None) -> str:
        """GET the authorize page and press Allow with ``tenant_ids`` ticked (default: every organisation).

        Returns the redirect URL the browser would follow (``redirect_uri?code=...&state=...``).
        Raises ValueError when the page refuses the request.
        """
        parts = urlsplit(authorize_url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
        try:
            conn.request("GET", f"{parts.path}?{parts.query}")
            response = conn.getresponse()
            page = response.read().decode("utf-8", "replace")
            if response.status != 200:
                raise ValueError(f"the authorize page answered {response.status}: {_text(page)}")
            form = _ConsentForm()
            form.feed(page)
            chosen = form.tenants if tenant_ids is None else list(tenant_ids)
            body = urlencode([*form.hidden, *[("tenant", t) for t in chosen], ("action", "allow")])
            conn.request(
                "POST", form.action or parts.path, body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            response = conn.getresponse()
            answer = response.read().decode("utf-8", "replace")
            location = response.getheader("Location")
            if response.status != 302 or not location:
                raise ValueError(f"the consent was refused ({response.status}): {_text(answer)}")
            return location
        finally:
            conn.close()

    def issue_tokens(
        self,
        tenant_ids: list[str] | None = None,
        scope: str = DEFAULT_SCOPE,
        redirect_uri: str = "http://127.0.0.1/callback",
    ) -> dict[str, Any]:
        """Run the whole code flow for the demo app over HTTP and return the token answer (JSON).

        A shortcut for tests: consent to ``tenant_ids`` (default: all), exchange the code, return
        ``{"access_token", "refresh_token", "expires_in", "token_type", "scope", "id_token"}``.
        """
        query = urlencode(
            {
                "response_type": "code",
                "client_id": seed.DEMO_CLIENT_ID,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": "sandbox",
            }
        )
        location = self.approve(f"{self.url}/identity/connect/authorize?{query}", tenant_ids)
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        credentials = base64.b64encode(f"{seed.DEMO_CLIENT_ID}:{seed.DEMO_CLIENT_SECRET}".encode()).decode()
        conn = http.client.HTTPConnection(urlsplit(self.url).hostname, self.port, timeout=10)
        try:
            conn.request(
                "POST",
                "/connect/token",
                urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}),
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": f"Basic {credentials}",
                },
            )
            response = conn.getresponse()
            answer = json.loads(response.read())
        finally:
            conn.close()
        if response.status != 200:
            raise ValueError(f"the token exchange failed ({response.status}): {answer}")
        return answer

    # --- inspection -------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every identity and API call received (status 0: dropped unanswered)."""
        return list(self.app.calls)

    @property
    def received(self) -> list[tuple[str, str, bytes]]:
        """``(method, path, body)`` of the latest identity and API requests (the last 1,000), as sent."""
        with self.app._calls_lock:
            return list(self.app.received)


def _text(page: str) -> str:
    """The readable part of a small HTML page (for error messages)."""
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|title)>.*?</\1>", "", page)).split())


def serve(
    host: str = "127.0.0.1",
    port: int = 8070,
    db_path: str | None = None,
    *,
    allow_remote: bool | None = None,
    redirect_uris: tuple[str, ...] | list[str] = (),
) -> int:
    """Run the sandbox in the foreground until Ctrl-C or SIGTERM; returns the process exit code.

    A non-loopback ``host`` is refused unless ``allow_remote`` is true (``--allow-remote``) or the
    environment variable ``PAYROLL_XERO_SANDBOX_ALLOW_REMOTE`` is ``1``. ``allow_remote=None`` (a
    caller that predates the flag) binds as asked and warns on stderr.
    """
    legacy = allow_remote is None
    allowed = bool(allow_remote) or os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in (
        "1",
        "true",
        "yes",
    )
    if legacy and not allowed and not is_loopback_bind(host):
        print(
            f"warning: the Xero sandbox on '{host}' is reachable from other machines: it has public demo "
            "credentials and open admin endpoints. Use --allow-remote to say so, or a loopback address.",
            file=sys.stderr,
        )
        allowed = True
    try:
        sandbox = Sandbox(
            host=host, port=port, db_path=db_path, redirect_uris=redirect_uris, allow_remote=allowed
        ).start()
    except OSError as exc:
        print(f"Cannot start the Xero sandbox on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"Xero sandbox listening on {sandbox.url}  (state: {db_path or 'in memory'})")
    print(f"  login/identity/API base URL: {sandbox.url}")
    print(f"  demo app: client_id={seed.DEMO_CLIENT_ID} client_secret={seed.DEMO_CLIENT_SECRET}")
    print(
        f"  organisations: {seed.DEMO_TENANT_ID} (Harbour Payroll Demo Ltd), "
        f"{seed.SECOND_TENANT_ID} (Kowloon Trading Ltd)"
    )
    print(f"  bills received: {sandbox.url}/    admin: {sandbox.url}/_sandbox/state    Ctrl-C to stop")
    sys.stdout.flush()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("Xero sandbox stopped.")
    return 0
