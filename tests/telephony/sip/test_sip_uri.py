"""SIP URIs and name-addr values: parsing, printing, errors (issue 3)."""

from __future__ import annotations

import pytest

from telephony.sip.errors import RemoteSipError
from telephony.sip.uri import NameAddr, SipUri, parse_params


def test_full_sip_uri_parts() -> None:
    uri = SipUri.parse("sips:alice:secret@Example.COM:5061;transport=TLS;lr?Subject=x&Priority=y")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "Example.COM",
        5061,
    )
    assert uri.param("TRANSPORT") == "TLS" and uri.transport == "tls"
    assert uri.param("lr") == "" and uri.param("maddr") is None
    assert uri.headers == (("Subject", "x"), ("Priority", "y"))
    assert str(uri) == "sips:alice:secret@Example.COM:5061;transport=TLS;lr?Subject=x&Priority=y"


def test_ipv6_host_keeps_brackets() -> None:
    uri = SipUri.parse("sip:[2001:db8::1]:5060")
    assert uri.host == "[2001:db8::1]" and uri.host_bare == "2001:db8::1" and uri.port == 5060
    assert str(uri) == "sip:[2001:db8::1]:5060"


def test_scheme_is_case_insensitive() -> None:
    assert SipUri.parse("SIP:bob@host").scheme == "sip"


def test_user_may_hold_escapes_and_semicolons() -> None:
    uri = SipUri.parse("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u%40example.net" and uri.host == "example.com"


def test_with_params_replaces_same_name() -> None:
    uri = SipUri.parse("sip:a@b;transport=udp").with_params(transport="tcp", lr=None)
    assert str(uri) == "sip:a@b;transport=tcp;lr"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("tel:+8610000", 416),
        ("http://example.com/", 416),
        ("sip:", 400),
        ("sip:a@", 400),
        ("sip:a@b@c", 400),
        ("sip:host:70000", 400),
        ("sip:[::1", 400),
        ("sip:300.1.1.1", 400),
        ("sip:a b@c", 400),
        ("sip:" + "a" * 5000 + "@b", 414),
    ],
)
def test_bad_uris_raise_remote_errors(text: str, status: int) -> None:
    with pytest.raises(RemoteSipError) as info:
        SipUri.parse(text)
    assert info.value.status_hint == status


def test_name_addr_forms() -> None:
    quoted = NameAddr.parse('"Agent \\"7\\"" <sip:7@pbx>;tag=x1;expires=60')
    assert quoted.display == 'Agent "7"' and quoted.tag == "x1" and quoted.param("EXPIRES") == "60"
    assert NameAddr.parse(str(quoted)) == quoted
    tokens = NameAddr.parse("Bob  Smith <sip:bob@h>")
    assert tokens.display == "Bob Smith"
    bare = NameAddr.parse("sip:bob@h;tag=9")  # addr-spec: params belong to the header (§20.10)
    assert bare.uri.params == () and bare.tag == "9"
    assert str(bare) == "<sip:bob@h>;tag=9"


def test_with_tag_replaces_existing_tag() -> None:
    value = NameAddr.parse("<sip:a@b>;tag=1").with_tag("2")
    assert value.tag == "2" and str(value) == "<sip:a@b>;tag=2"


def test_chinese_display_name_round_trips() -> None:
    value = NameAddr(SipUri.parse("sip:1000@hotline"), display="中国电信 客服")
    assert NameAddr.parse(str(value)) == value


@pytest.mark.parametrize(
    "text",
    [
        '"unterminated <sip:a@b>',
        "<sip:a@b",
        "Bad,Name <sip:a@b>",
        "<sip:a@b>;=x",
        "<sip:a@b>;p=",
        "<sip:a@b> junk",
        "sip:a@b?x=1",
    ],
)
def test_bad_name_addrs_raise_remote_errors(text: str) -> None:
    with pytest.raises(RemoteSipError):
        NameAddr.parse(text)


def test_params_keep_quoted_values_with_semicolons() -> None:
    assert parse_params(' ;a=1 ; b ;c="x;y"  ') == (("a", "1"), ("b", None), ("c", '"x;y"'))
