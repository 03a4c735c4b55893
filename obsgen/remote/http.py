"""One HTTP client for every remote: configuration from flags and the environment, retries
(connection errors, 429 honouring Retry-After, 5xx; backoff with jitter), a bearer token or a
tenant header, and errors that say what to do. The token is sent as a header and never appears
in a message, log line or exception."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.util import Retry

from obsgen.errors import RemoteError

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 30.0  # seconds; a server asking for longer is reported, not waited for
_HEADER_LIKE = re.compile(r"(?i)\b(?:proxy-)?authorization\b\s*[:=]?\s*(?:(?:bearer|basic)\s+)?\S*|\b(?:bearer|basic)\s+\S+")


@dataclass(frozen=True)
class Endpoint:
    """Where a remote is and how to authenticate to it. `url` never holds credentials: a
    `user:password@` in the URL given is moved to `basic`, so no message can echo it."""

    url: str
    token: str = field(default="", repr=False)
    org_id: int | None = None
    verify: bool | str = True  # False, or a CA bundle path
    timeout: float = 10.0
    retries: int = 4
    backoff: float = 0.5  # seconds; doubles each retry, plus up to `backoff` of jitter
    basic: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def secrets(self) -> list[str]:
        """Every credential this endpoint holds, for scrubbing messages."""
        return [s for s in (self.token, *(self.basic or ())) if len(s) >= 4]

    @classmethod
    def from_env(
        cls, prefix: str, url: str | None = None, token_file: str | None = None, org_id: int | None = None,
        ca_file: str | None = None, insecure: bool = False, timeout: float | None = None,
    ) -> Endpoint | None:
        """Flags first, then <PREFIX>_URL, _TOKEN or _TOKEN_FILE, _ORG_ID, _CA_FILE, _TIMEOUT;
        None when no URL is given either way. Every mistake is a RemoteError that names the
        setting and never its secret."""
        env = os.environ
        url = url or env.get(f"{prefix}_URL")
        if not url:
            return None
        clean, basic = _split_credentials(url, f"{prefix}_URL")
        token_file = token_file or env.get(f"{prefix}_TOKEN_FILE")
        token = read_token(token_file) if token_file else env.get(f"{prefix}_TOKEN", "").strip()
        _check_header_safe(token, token_file or f"{prefix}_TOKEN")
        org_text = env.get(f"{prefix}_ORG_ID")
        if org_id is None and org_text:
            if not org_text.isdigit():
                raise RemoteError(f"{prefix}_ORG_ID must be a number (got {org_text!r})")
            org_id = int(org_text)
        ca = ca_file or env.get(f"{prefix}_CA_FILE")
        if ca and not insecure and not Path(ca).is_file():
            raise RemoteError(f"the CA file {ca} does not exist (--ca-file or {prefix}_CA_FILE)")
        verify: bool | str = False if insecure else (ca or True)
        if timeout is None:
            text = env.get(f"{prefix}_TIMEOUT", "10")
            try:
                timeout = float(text)
            except ValueError:
                raise RemoteError(f"{prefix}_TIMEOUT must be seconds, e.g. 10 (got {text!r})") from None
        if not 0 < timeout <= 600:
            raise RemoteError(f"the timeout must be between 0 and 600 seconds (got {timeout:g})")
        return cls(clean, token, org_id, verify, timeout, basic=basic)


def read_token(path: str) -> str:
    """The token a file holds: its one non-empty line. A second line (a comment, a rotated token)
    is refused rather than guessed at; nothing of the file's content is ever shown."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RemoteError(f"cannot read the token file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RemoteError(f"the token file {path} is not UTF-8 text") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        raise RemoteError(f"the token file {path} holds {len(lines)} lines; it must hold only the token (nothing was sent)")
    return lines[0] if lines else ""


def _check_header_safe(token: str, where: str) -> None:
    if any(not 33 <= ord(c) < 127 for c in token):
        raise RemoteError(
            f"the token from {where} holds characters an HTTP header cannot carry (spaces, line breaks or "
            "non-ASCII); check it was copied whole (nothing was sent)"
        )


def _split_credentials(url: str, setting: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without `user:password@`, and those credentials."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.scheme not in ("http", "https") or not netloc:
        # Not shown: without a scheme, a user:password@ is not where a parser would find it.
        raise RemoteError(f"{setting} must start with http:// or https://, e.g. https://grafana.example.com")
    basic = (unquote(parts.username or ""), unquote(parts.password or "")) if "@" in parts.netloc else None
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, "")), basic


class _Retry(Retry):
    """urllib3's retries, except that a TLS handshake that failed once fails the same way again:
    give up at once (plain HTTP on an https:// URL, an unknown CA) instead of backing off."""

    def increment(
        self, method: str | None = None, url: str | None = None, response: BaseHTTPResponse | None = None,
        error: Exception | None = None, _pool: ConnectionPool | None = None, _stacktrace: TracebackType | None = None,
    ) -> Self:
        if isinstance(error, urllib3.exceptions.SSLError):
            raise urllib3.exceptions.MaxRetryError(_pool, url or "", error) from error  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def parse_retry_after(self, retry_after: str) -> float:
        """At most MAX_RETRY_AFTER; a value that is neither seconds nor a date means no extra wait."""
        try:
            return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER)
        except urllib3.exceptions.InvalidHeader:
            return 0.0


class ApiClient:
    """requests with retries (connection errors, 429 honouring Retry-After, 5xx; backoff with jitter),
    a bearer token or tenant header, and errors that say what to do. Subclasses add endpoints."""

    name = "the server"
    hints: ClassVar[dict[int, str]] = {}

    def __init__(self, config: Endpoint, headers: dict[str, str] | None = None) -> None:
        self.config = config
        self.session = requests.Session()
        retry = _Retry(
            total=config.retries, connect=config.retries, read=config.retries, status=config.retries,
            backoff_factor=config.backoff, backoff_jitter=config.backoff, status_forcelist=RETRY_STATUSES,
            # Writes are retried too: a save by uid carries the version it replaces, so a repeat of a
            # save that took effect (its answer lost) gets 412, which the Grafana adapter recognises;
            # rule groups are replaced whole by name.
            allowed_methods=None,
            respect_retry_after_header=True, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)  # planning fetches several at once
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if config.token:
            self.session.headers["Authorization"] = f"Bearer {config.token}"
        elif config.basic:
            self.session.auth = config.basic
        self.session.headers.update(headers or {})
        if config.verify is False:  # the CLI warns once; urllib3 would warn on every request
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        try:
            return self._request(method, path, ok, **kwargs)
        except RemoteError as exc:
            raise RemoteError(self.scrub(str(exc)), exc.outage) from None

    def refuse(self, method: str, path: str, response: requests.Response) -> RemoteError:
        """The error for an answer the caller accepted from _call but cannot use."""
        return RemoteError(self.scrub(explain(method, path, response, self.config.retries, self.hints)))

    def scrub(self, text: str) -> str:
        """`text` without any credential this client holds, nor anything shaped like an
        Authorization header (a server or proxy may echo the request back)."""
        for secret in self.config.secrets:
            text = text.replace(secret, "***")
        return _HEADER_LIKE.sub("[credentials removed]", text)

    def _request(self, method: str, path: str, ok: tuple[int, ...], **kwargs: Any) -> requests.Response:
        url = self.config.url + path
        try:
            response = self.session.request(method, url, timeout=self.config.timeout, verify=self.config.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in repr(exc).upper() or "wrong version number" in repr(exc):
                raise RemoteError(f"{self.config.url} answers plain HTTP, not TLS: use http:// (or the port that serves https)") from None
            raise RemoteError(
                f"TLS verification failed for {self.config.url}: pass --ca-file with the CA that signed its certificate"
            ) from None
        except requests.exceptions.RetryError as exc:
            raise RemoteError(f"{method} {path}: still failing after {self.config.retries} retries ({_reason(exc)})", outage=True) from None
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
            if isinstance(exc, requests.exceptions.ReadTimeout) or _reason(exc) == "ReadTimeoutError":
                raise RemoteError(
                    f"{method} {path}: {self.name} accepted the connection but sent no answer within "
                    f"{self.config.timeout:g} s ({self.config.retries + 1} tries); --timeout waits longer", outage=True,
                ) from None
            raise RemoteError(f"cannot reach {self.name} at {self.config.url} ({_reason(exc)})", outage=True) from None
        except requests.exceptions.Timeout:
            raise RemoteError(f"{method} {path}: no answer within {self.config.timeout:g} s", outage=True) from None
        if response.status_code in ok:
            return response
        raise RemoteError(explain(method, path, response, self.config.retries, self.hints), outage=response.status_code in RETRY_STATUSES)


def _reason(exc: Exception) -> str:
    """The innermost cause, without URLs that might carry query strings."""
    inner: BaseException = exc
    while getattr(inner, "reason", None) is not None and inner is not inner.reason:  # type: ignore[attr-defined]
        inner = inner.reason  # type: ignore[attr-defined]
    while inner.__context__ is not None and not isinstance(inner, (ConnectionError, OSError)):
        inner = inner.__context__
    return type(inner).__name__


def explain(method: str, path: str, response: requests.Response, retries: int, known: dict[int, str]) -> str:
    try:
        body = response.json()
        detail = (body.get("message") or body.get("status") or "") if isinstance(body, dict) else ""
    except ValueError:
        detail = next((line.strip() for line in response.text.splitlines() if line.strip()), "")[:200]  # e.g. an HTML error page
    detail = detail or response.reason or ""
    status = response.status_code
    hints = dict(known)
    if status in RETRY_STATUSES:
        hints[status] = f"still failing after {retries} retries; run the push again to finish"
        asked = response.headers.get("Retry-After")
        if asked:
            hints[status] += f" (it asked to wait {asked!r}; obsgen waits at most {MAX_RETRY_AFTER:g} s between tries)"
    hint = hints.get(status, "unexpected answer")
    return f"{method} {path}: {status} {detail}: {hint}"
