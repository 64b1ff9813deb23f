"""The container's health check: exit 0 when Hearth answers GET /health, else 1 (with the reason on stderr).

It reads the same configuration as ``hearth run`` (``$HEARTH_CONFIG``, default /etc/hearth/hearth.toml, then
the ``HEARTH_*`` environment), so a port or TLS setting changed there is followed. The certificate is not
verified: it is the gateway's own self-signed one, and the check only asks whether the process answers.
Python's standard library only, because the image has no curl.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path

from hearth.config import load_settings


def health_url() -> str:
    settings = load_settings(Path(os.environ.get("HEARTH_CONFIG", "/etc/hearth/hearth.toml")))
    api = settings.api
    if not api.enabled or api.port == 0:
        raise RuntimeError("the API is off, or on a random port (api.port = 0): nothing to check")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(api.host, api.host)
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if api.tls else 'http'}://{host}:{api.port}/health"


def main() -> int:
    try:
        url = health_url()
        context = ssl._create_unverified_context()
        with urllib.request.urlopen(url, timeout=4, context=context) as response:
            status = json.loads(response.read()).get("status")
        if status != "ok":
            raise RuntimeError(f"{url} says status={status!r}")
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
