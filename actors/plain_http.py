"""The TLS setting of our HTTP clients (swarm gateway, distributor): nothing to load for
plain ``http://``.

Who uses it: ``actors.gateway._http.HttpCore`` and ``actors.distributor.http.ServerClient``,
as ``httpx.Client(verify=tls_verify(url))``. httpx's default (``verify=True``) loads certifi's
~150 CA certificates into a new SSL context for every client, ~20 ms, also when the server is
``http://`` and TLS is never used: on every actor's start, the distributor's and the root's,
most of them one after another before a run begins. For a plain-http URL (and no proxy from
the environment, which could be an ``https://`` one) the client gets a verifying context
without any CA: no request of ours uses it, and were one ever to try TLS through it, the
certificate check would fail rather than pass.
"""

from __future__ import annotations

import ssl
import urllib.request

__all__ = ["tls_verify"]

_NO_CA: ssl.SSLContext | None = None


def tls_verify(url: str) -> ssl.SSLContext | bool:
    """``verify`` for an httpx client of ``url``: True (httpx's default) unless plain http."""
    global _NO_CA
    if not url.lower().startswith("http://") or urllib.request.getproxies():
        return True
    if _NO_CA is None:
        _NO_CA = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, hostname checked
    return _NO_CA
