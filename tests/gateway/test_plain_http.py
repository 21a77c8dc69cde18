"""``actors.plain_http``: clients of a plain-http server load no CA certificates, clients of
an https server (or behind a proxy from the environment) keep httpx's verifying default."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from actors.distributor.http import ServerClient
from actors.gateway import Gateway, GatewayConfig
from actors.plain_http import tls_verify


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_proxy")
def test_plain_http_gets_a_verifying_context_without_certificates() -> None:
    ctx = tls_verify("http://127.0.0.1:8080")
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname  # fails closed
    assert ctx.get_ca_certs() == []
    assert tls_verify("HTTP://example.org") is ctx
    assert tls_verify("https://example.org") is True


@pytest.mark.usefixtures("no_proxy")
def test_a_proxy_from_the_environment_keeps_the_default(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example:3128")
    assert tls_verify("http://127.0.0.1:8080") is True


@pytest.mark.usefixtures("no_proxy")
def test_our_clients_load_certificates_for_https_only(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[Any] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    clients = [Gateway(GatewayConfig(base_url="http://127.0.0.1:9")),
               ServerClient("http://127.0.0.1:9")]
    assert loads == []
    clients += [Gateway(GatewayConfig(base_url="https://127.0.0.1:9")),
                ServerClient("https://127.0.0.1:9")]
    assert len(loads) == 2
    for client in clients:
        client.close()
