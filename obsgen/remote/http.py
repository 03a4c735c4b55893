"""One HTTP client for every remote: configuration from flags and the environment, retries
(connection errors, 429 honouring Retry-After, 5xx; backoff with jitter), a bearer token or a
tenant header, and errors that say what to do. The token is sent as a header and never appears
in a message, log line or exception."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from obsgen.errors import RemoteError

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Endpoint:
    """Where a remote is and how to authenticate to it."""

    url: str
    token: str = field(default="", repr=False)
    org_id: int | None = None
    verify: bool | str = True  # False, or a CA bundle path
    timeout: float = 10.0
    retries: int = 4
    backoff: float = 0.5  # seconds; doubles each retry, plus up to `backoff` of jitter

    @classmethod
    def from_env(
        cls, prefix: str, url: str | None = None, token_file: str | None = None, org_id: int | None = None,
        ca_file: str | None = None, insecure: bool = False, timeout: float | None = None,
    ) -> Endpoint | None:
        """Flags first, then <PREFIX>_URL, _TOKEN or _TOKEN_FILE, _ORG_ID, _CA_FILE, _TIMEOUT;
        None when no URL is given either way."""
        env = os.environ
        url = url or env.get(f"{prefix}_URL")
        if not url:
            return None
        token_file = token_file or env.get(f"{prefix}_TOKEN_FILE")
        if token_file:
            try:
                token = Path(token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise RemoteError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        else:
            token = env.get(f"{prefix}_TOKEN", "").strip()
        org_text = env.get(f"{prefix}_ORG_ID")
        if org_id is None and org_text:
            if not org_text.isdigit():
                raise RemoteError(f"{prefix}_ORG_ID must be a number (got {org_text!r})")
            org_id = int(org_text)
        verify: bool | str = False if insecure else (ca_file or env.get(f"{prefix}_CA_FILE") or True)
        seconds = timeout or float(env.get(f"{prefix}_TIMEOUT", "10"))
        return cls(url.rstrip("/"), token, org_id, verify, seconds)


class ApiClient:
    """requests with retries (connection errors, 429 honouring Retry-After, 5xx; backoff with jitter),
    a bearer token or tenant header, and errors that say what to do. Subclasses add endpoints."""

    name = "the server"
    hints: ClassVar[dict[int, str]] = {}

    def __init__(self, config: Endpoint, headers: dict[str, str] | None = None) -> None:
        self.config = config
        self.session = requests.Session()
        retry = Retry(
            total=config.retries, connect=config.retries, read=config.retries, status=config.retries,
            backoff_factor=config.backoff, backoff_jitter=config.backoff, status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # every write here is idempotent (a save by uid or name): safe to repeat
            respect_retry_after_header=True, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if config.token:
            self.session.headers["Authorization"] = f"Bearer {config.token}"
        self.session.headers.update(headers or {})

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        url = self.config.url + path
        try:
            response = self.session.request(method, url, timeout=self.config.timeout, verify=self.config.verify, **kwargs)
        except requests.exceptions.SSLError:
            raise RemoteError(
                f"TLS verification failed for {self.config.url}: pass --ca-file with the CA that signed its certificate"
            ) from None
        except requests.exceptions.RetryError as exc:
            raise RemoteError(f"{method} {path}: still failing after {self.config.retries} retries ({_reason(exc)})") from None
        except requests.exceptions.ConnectionError as exc:
            raise RemoteError(f"cannot reach {self.name} at {self.config.url} ({_reason(exc)})") from None
        except requests.exceptions.Timeout:
            raise RemoteError(f"{method} {path}: no answer within {self.config.timeout:g} s") from None
        if response.status_code in ok:
            return response
        raise RemoteError(_explain(method, path, response, self.config.retries, self.hints))


def _reason(exc: Exception) -> str:
    """The innermost cause, without URLs that might carry query strings."""
    inner: BaseException = exc
    while getattr(inner, "reason", None) is not None and inner is not inner.reason:  # type: ignore[attr-defined]
        inner = inner.reason  # type: ignore[attr-defined]
    while inner.__context__ is not None and not isinstance(inner, (ConnectionError, OSError)):
        inner = inner.__context__
    return type(inner).__name__


def _explain(method: str, path: str, response: requests.Response, retries: int, known: dict[int, str]) -> str:
    try:
        body = response.json()
        detail = (body.get("message") or body.get("status") or "") if isinstance(body, dict) else ""
    except ValueError:
        detail = response.text.strip()[:200]
    detail = detail or response.reason or ""
    status = response.status_code
    hints = dict(known)
    if status in RETRY_STATUSES:
        hints[status] = f"still failing after {retries} retries; run the push again to finish"
    hint = hints.get(status, "unexpected answer")
    return f"{method} {path}: {status} {detail}: {hint}"
