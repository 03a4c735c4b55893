"""A small client for Grafana's HTTP API: folders and dashboards, with retries and clear errors.

Everything Grafana-specific (paths, status codes, error bodies) lives here, so the client works
unchanged against a real Grafana. The token is sent as a bearer header and never appears in a
message, log line or exception.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class GrafanaError(Exception):
    """A request the server refused or that never reached it; the message is safe to print."""


@dataclass(frozen=True)
class GrafanaConfig:
    url: str
    token: str = field(repr=False)
    org_id: int | None = None
    verify: bool | str = True  # False, or a CA bundle path
    timeout: float = 10.0
    retries: int = 4
    backoff: float = 0.5  # seconds; doubles each retry, plus up to `backoff` of jitter

    @classmethod
    def from_env(
        cls, url: str | None = None, token_file: str | None = None, org_id: int | None = None,
        ca_file: str | None = None, insecure: bool = False, timeout: float | None = None,
    ) -> GrafanaConfig:
        """Flags first, then GRAFANA_URL, GRAFANA_TOKEN or GRAFANA_TOKEN_FILE, GRAFANA_ORG_ID, GRAFANA_CA_FILE."""
        env = os.environ
        url = url or env.get("GRAFANA_URL")
        if not url:
            raise GrafanaError("no Grafana URL: pass --grafana-url or set GRAFANA_URL")
        token_file = token_file or env.get("GRAFANA_TOKEN_FILE")
        if token_file:
            try:
                token = Path(token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise GrafanaError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        else:
            token = env.get("GRAFANA_TOKEN", "").strip()
        if not token:
            raise GrafanaError("no Grafana token: set GRAFANA_TOKEN or pass --token-file (a service-account token)")
        org = org_id if org_id is not None else (int(env["GRAFANA_ORG_ID"]) if env.get("GRAFANA_ORG_ID") else None)
        verify: bool | str = False if insecure else (ca_file or env.get("GRAFANA_CA_FILE") or True)
        return cls(url.rstrip("/"), token, org, verify, timeout or float(env.get("GRAFANA_TIMEOUT", "10")))


class ApiClient:
    """requests with retries (connection errors, 429 honouring Retry-After, 5xx; backoff with jitter),
    a bearer token or tenant header, and errors that say what to do. Subclasses add endpoints."""

    name = "the server"
    hints: dict[int, str] = {}

    def __init__(self, config: GrafanaConfig, headers: dict[str, str] | None = None) -> None:
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
            raise GrafanaError(
                f"TLS verification failed for {self.config.url}: pass --ca-file with the CA that signed its certificate"
            ) from None
        except requests.exceptions.RetryError as exc:
            raise GrafanaError(f"{method} {path}: still failing after {self.config.retries} retries ({_reason(exc)})") from None
        except requests.exceptions.ConnectionError as exc:
            raise GrafanaError(f"cannot reach {self.name} at {self.config.url} ({_reason(exc)})") from None
        except requests.exceptions.Timeout:
            raise GrafanaError(f"{method} {path}: no answer within {self.config.timeout:g} s") from None
        if response.status_code in ok:
            return response
        raise GrafanaError(_explain(method, path, response, self.config.retries, self.hints))


class Grafana(ApiClient):
    name = "Grafana"
    hints = {
        401: "Grafana rejected the token: check GRAFANA_TOKEN (a service-account token, sent as Bearer)",
        403: "the token may not do this: give the service account the Editor role, or edit rights on the folder",
        404: "not found: check GRAFANA_URL (and a sub-path if Grafana is served under one)",
        412: "Grafana refused the save: the dashboard changed there meanwhile (version-mismatch) or a dashboard "
             "with the same title exists in the folder (name-exists); run `obsgen plan` and look",
    }

    def __init__(self, config: GrafanaConfig) -> None:
        headers = {"Accept": "application/json"}
        if config.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(config.org_id)
        super().__init__(config, headers)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/api/health").json()

    def folder(self, uid: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/folders/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def create_folder(self, uid: str, title: str) -> None:
        # 409/412: it exists already (created meanwhile, or the same title): nothing to do.
        self._call("POST", "/api/folders", ok=(200, 409, 412), json={"uid": uid, "title": title})

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """{"dashboard": ..., "meta": ...}, or None when there is none with this uid."""
        response = self._call("GET", f"/api/dashboards/uid/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> dict[str, Any]:
        """Create, or update the version given in `dashboard["version"]`: Grafana refuses (412)
        when someone saved a newer one in between, so nothing is silently overwritten."""
        body = {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": False, "message": message}
        return self._call("POST", "/api/dashboards/db", json=body).json()

    def delete_dashboard(self, uid: str) -> None:
        self._call("DELETE", f"/api/dashboards/uid/{uid}", ok=(200, 404))

    def search(self, tag: str) -> list[dict[str, Any]]:
        """Every dashboard with this tag, page by page."""
        found: list[dict[str, Any]] = []
        page, limit = 1, 500
        while True:
            batch = self._call(
                "GET", "/api/search", params={"type": "dash-db", "tag": tag, "limit": limit, "page": page}
            ).json()
            found += batch
            if len(batch) < limit:
                return found
            page += 1


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
