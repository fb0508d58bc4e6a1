"""A real OpenID Connect provider for the tests: ``tests/oidc/provider.mjs`` (panva's certified
``oidc-provider`` on Node.js) started as a subprocess on loopback, plain http.

::

    with OidcProvider("wallboard", "s3cret", [redirect_uri], [{"sub": "u1", "preferred_username": "ana",
                      "name": "Ana", "email": "ana@example.test", "groups": ["supervisors"]}]) as op:
        op.issuer                    # "http://127.0.0.1:<port>", discovery at op.issuer + DISCOVERY
        ...                          # the client sends the browser to the authorization endpoint
        op.login(page, "ana", password("ana"))   # a Playwright page on the sign-in form; returns at redirect_uri

The node modules come from ``make test`` (``npm ci --prefix tests/oidc``). The provider's output (its
warnings, one line per login, errors) goes to a log file: ``.log_path``, ``.output()``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER = OIDC_DIR / "provider.mjs"
DISCOVERY = "/.well-known/openid-configuration"
START_TIMEOUT = 20.0

#: The sign-in form's elements (the provider's own page, no external resources).
USERNAME = "#username"
PASSWORD = "#password"
SUBMIT = "#submit"
LOGIN_ERROR = "#login-error"  # shown, with the form again, after a wrong username or password
CANCEL = "#cancel"  # aborts: the client gets error=access_denied at its redirect_uri
PROVIDER_ERROR = "#oidc-error"  # the provider's error page (e.g. an unknown client or redirect_uri), JSON inside
LOGOUT_YES = "#logout-yes"  # the RP-initiated logout's confirmation (end_session_endpoint)


def password(username: str) -> str:
    """The password the provider accepts for an account without a ``password`` field of its own."""
    return f"secret-{username}"


class OidcProvider:
    """The provider as a context manager: started on enter (``READY`` within 20 s or an error with its
    output), stopped (SIGTERM, then SIGKILL) on exit.

    ``accounts``: dicts with ``sub``, ``preferred_username``, ``name``, ``email``, ``groups`` (list of
    str) and optionally ``password``. ``port`` None: any free port (the provider binds port 0 and says
    which). ``token_endpoint_auth_method``: what the client is registered with; client_secret_post is
    accepted from it as well. ``post_logout_redirect_uris``: for RP-initiated logout.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        accounts: list[dict[str, Any]],
        port: int | None = None,
        *,
        token_endpoint_auth_method: str = "client_secret_basic",
        post_logout_redirect_uris: list[str] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.accounts = [dict(a) for a in accounts]
        self.client: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": self.redirect_uris,
            "token_endpoint_auth_method": token_endpoint_auth_method,
        }
        if post_logout_redirect_uris is not None:
            self.client["post_logout_redirect_uris"] = list(post_logout_redirect_uris)
        self._wanted_port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._issuer: str | None = None
        self.log_path: Path | None = None

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise RuntimeError("the OIDC provider is not running")
        return self._issuer

    @property
    def port(self) -> int:
        port = urlsplit(self.issuer).port
        assert port is not None
        return port

    @property
    def discovery_url(self) -> str:
        return self.issuer + DISCOVERY

    def output(self) -> str:
        """Everything the provider printed so far (stdout and stderr)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on the PATH (the OIDC provider runs on Node.js)")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(f"{OIDC_DIR}/node_modules is missing: run `make test` or `npm ci --prefix {OIDC_DIR}`")
        self._dir = tempfile.TemporaryDirectory(prefix="oidc-provider-")
        self.log_path = Path(self._dir.name) / "provider.log"
        args = [
            node,
            str(PROVIDER),
            "--port",
            str(self._wanted_port or 0),
            "--client",
            json.dumps(self.client),
            "--accounts",
            json.dumps(self.accounts),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
        env["NO_COLOR"] = "1"
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                args, cwd=OIDC_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            for line in self.output().splitlines():
                if line.startswith("READY "):
                    self._issuer = line.split(" ", 1)[1].strip()
                    return
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with {code}" if code is not None else f"not READY within {START_TIMEOUT:.0f} s"
                output = self.output()
                self.stop()
                raise RuntimeError(f"the OIDC provider {why}; its output:\n{output}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._issuer = None
        # The log outlives the process (read it after a failure); the directory goes with the object.

    def __enter__(self) -> OidcProvider:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def login(self, page: Any, username: str, password: str, timeout: float = 10.0) -> str:
        """:func:`login` on this provider's sign-in page; returns the URL the browser was sent to."""
        return login(page, username, password, timeout=timeout, issuer=self.issuer)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def login(page: Any, username: str, password: str, *, timeout: float = 10.0, issuer: str | None = None) -> str:
    """Sign in on the provider's page a Playwright (sync API) ``page`` is showing: fill the form, submit,
    and return once the browser has left the provider (its URL then: the client's redirect_uri with
    ``code``, ``state`` and ``iss``, or wherever the client sent it next). There is no consent page to
    click: the provider grants its one client whatever it asks. A wrong username or password raises
    AssertionError with the page's message at once."""
    origin = _origin(issuer) if issuer is not None else _origin(page.url)
    # The sign-in form, the provider's error page, or already gone (the client got an error or no login was needed)
    page.wait_for_function(
        "([origin, selectors]) => location.origin !== origin || selectors.some((s) => document.querySelector(s))",
        arg=[origin, [USERNAME, PROVIDER_ERROR]],
        timeout=timeout * 1000,
    )
    if _origin(page.url) != origin:
        raise AssertionError(f"the browser is not on the provider's sign-in page but at {page.url}")
    if page.locator(PROVIDER_ERROR).count():
        raise AssertionError(f"the provider shows an error: {page.locator(PROVIDER_ERROR).inner_text()}")
    page.fill(USERNAME, username)
    page.fill(PASSWORD, password)
    page.evaluate("() => { window.__oidcLoginSubmitted = true; }")  # gone once the browser shows a new page
    page.click(SUBMIT, no_wait_after=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = page.url
        if not url.startswith(("about:", "chrome-error:")) and _origin(url) != origin:
            return str(url)
        try:
            refused = page.evaluate(
                "() => !window.__oidcLoginSubmitted && document.readyState !== 'loading'"
                f" && document.querySelector({json.dumps(LOGIN_ERROR)})?.innerText"
            )
        except Exception:  # the page navigated while we looked: look again
            refused = None
        if refused:
            raise AssertionError(f"sign-in as {username!r} refused: {refused}")
        page.wait_for_timeout(50)
    raise AssertionError(f"still on the provider after {timeout:.0f} s signing in as {username!r}: {page.url}")
