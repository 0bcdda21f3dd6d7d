"""Registrar (RFC 3261 §10): bindings, ordering rules, expiry limits, auth and the answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.sip.digest import (
    ClientCredentials,
    DigestAuthenticator,
    InMemoryCredentialStore,
    authorization_for,
    choose_challenge,
)
from telephony.sip.message import SipRequest, SipResponse
from telephony.sip.parser import parse_message
from telephony.sip.registrar import (
    BindingsChanged,
    BindingStore,
    Registrar,
    RegistrarLimits,
)

REALM = "hotline.test"
NOW = 1000.0
AOR = "sip:1001@hotline.test"


def register(*contacts: str, expires: int | None = None, cseq: int = 1,
             call_id: str = "reg-1@phone", user: str = "1001",
             authorization: str | None = None) -> SipRequest:
    lines = [
        f"REGISTER sip:{REALM} SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{REALM}>;tag=ft1",
        f"To: <sip:{user}@{REALM}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
    ]
    lines += [f"Contact: {c}" for c in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    lines.append("Content-Length: 0")
    msg = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(msg, SipRequest)
    return msg


def open_registrar(**kwargs: object) -> tuple[Registrar, list[BindingsChanged]]:
    events: list[BindingsChanged] = []
    registrar = Registrar(bindings=BindingStore(), authenticator=None,
                          listener=events.append, **kwargs)  # type: ignore[arg-type]
    return registrar, events


def contacts_of(response: SipResponse) -> list[str]:
    return response.headers.get_all("Contact")


def test_register_binds_contact_and_200_lists_it_with_expires() -> None:
    registrar, events = open_registrar()
    response = registrar.handle(register("<sip:1001@127.0.0.1:5070>", expires=600), now=NOW,
                                source=("127.0.0.1", 5070))
    assert response.status == 200
    assert response.to.tag
    assert contacts_of(response) == ["<sip:1001@127.0.0.1:5070>;expires=600"]
    bindings = registrar.bindings.lookup(AOR, NOW + 599)
    assert [str(b.contact.uri) for b in bindings] == ["sip:1001@127.0.0.1:5070"]
    assert bindings[0].source == ("127.0.0.1", 5070)
    assert events and events[-1].aor == AOR and len(events[-1].bindings) == 1


def test_binding_expires_after_its_time() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@127.0.0.1:5070>", expires=600), now=NOW)
    assert registrar.bindings.lookup(AOR, NOW + 600) == ()
    assert registrar.bindings.purge(NOW + 601) == (AOR,)
    assert registrar.bindings.aors(NOW + 601) == ()


def test_several_contacts_per_agent_ordered_by_q() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1:5060>;q=0.5"), now=NOW)
    response = registrar.handle(
        register("<sip:1001@10.0.0.2:5060>;q=0.9", call_id="other-phone"), now=NOW + 1)
    assert contacts_of(response) == [
        "<sip:1001@10.0.0.2:5060>;expires=3600;q=0.9",
        "<sip:1001@10.0.0.1:5060>;expires=3599;q=0.5",
    ]


def test_contact_expires_param_beats_expires_header_and_zero_removes() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>", "<sip:1001@10.0.0.2>;expires=120",
                              expires=900), now=NOW)
    by_host = {b.contact.uri.host: b.expires_in(NOW) for b in registrar.bindings.lookup(AOR, NOW)}
    assert by_host == {"10.0.0.1": 900, "10.0.0.2": 120}
    response = registrar.handle(register("<sip:1001@10.0.0.1>;expires=0", cseq=2), now=NOW)
    assert contacts_of(response) == ["<sip:1001@10.0.0.2>;expires=120"]


def test_refresh_with_higher_cseq_moves_expiry_and_lower_cseq_is_refused() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>", expires=300, cseq=5), now=NOW)
    refreshed = registrar.handle(register("<sip:1001@10.0.0.1>", expires=300, cseq=6),
                                 now=NOW + 200)
    assert contacts_of(refreshed) == ["<sip:1001@10.0.0.1>;expires=300"]
    stale = registrar.handle(register("<sip:1001@10.0.0.1>", expires=0, cseq=6), now=NOW + 201)
    assert stale.status == 400
    assert len(registrar.bindings.lookup(AOR, NOW + 201)) == 1


def test_other_call_id_may_replace_binding_regardless_of_cseq() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>", cseq=50), now=NOW)
    response = registrar.handle(
        register("<sip:1001@10.0.0.1>", expires=0, cseq=1, call_id="rebooted"), now=NOW)
    assert response.status == 200
    assert registrar.bindings.lookup(AOR, NOW) == ()


def test_star_unregisters_everything_only_with_expires_zero() -> None:
    registrar, events = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>", "<sip:1001@10.0.0.2>"), now=NOW)
    assert registrar.handle(register("*", cseq=2), now=NOW).status == 400
    assert registrar.handle(register("*", "<sip:1001@10.0.0.3>", expires=0, cseq=2),
                            now=NOW).status == 400
    response = registrar.handle(register("*", expires=0, cseq=3), now=NOW)
    assert response.status == 200 and contacts_of(response) == []
    assert registrar.bindings.lookup(AOR, NOW) == ()
    assert events[-1].bindings == ()


def test_too_brief_interval_gets_423_with_min_expires_and_changes_nothing() -> None:
    registrar, _ = open_registrar(limits=RegistrarLimits(min_expires=60))
    registrar.handle(register("<sip:1001@10.0.0.1>"), now=NOW)
    response = registrar.handle(
        register("<sip:1001@10.0.0.1>;expires=0", "<sip:1001@10.0.0.2>;expires=30", cseq=2),
        now=NOW)
    assert response.status == 423
    assert response.headers.get("Min-Expires") == "60"
    assert len(registrar.bindings.lookup(AOR, NOW)) == 1  # all-or-nothing


def test_long_expiry_is_clamped_to_maximum() -> None:
    registrar, _ = open_registrar(limits=RegistrarLimits(max_expires=1800))
    response = registrar.handle(register("<sip:1001@10.0.0.1>", expires=86400), now=NOW)
    assert contacts_of(response) == ["<sip:1001@10.0.0.1>;expires=1800"]


def test_register_without_contact_is_a_query() -> None:
    registrar, _ = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>"), now=NOW)
    response = registrar.handle(register(cseq=2), now=NOW + 10)
    assert contacts_of(response) == ["<sip:1001@10.0.0.1>;expires=3590"]


def test_too_many_contacts_are_refused() -> None:
    registrar, _ = open_registrar(limits=RegistrarLimits(max_contacts=2))
    response = registrar.handle(
        register(*(f"<sip:1001@10.0.0.{i}>" for i in range(3))), now=NOW)
    assert response.status == 403
    assert registrar.bindings.lookup(AOR, NOW) == ()


@pytest.mark.parametrize("contact", ["<sip:1001@10.0.0.1>;q=2", "<sip:1001@10.0.0.1>;q=x",
                                     "<sip:1001@10.0.0.1>;expires=soon", "<http://x>"])
def test_malformed_contacts_get_4xx(contact: str) -> None:
    registrar, _ = open_registrar()
    response = registrar.handle(register(contact), now=NOW)
    assert 400 <= response.status < 500
    assert registrar.bindings.lookup(AOR, NOW) == ()


def test_foreign_domain_is_not_registered() -> None:
    registrar, _ = open_registrar(domains=frozenset({"other.test"}))
    assert registrar.handle(register("<sip:1001@10.0.0.1>"), now=NOW).status == 404


# --- with digest authentication -------------------------------------------------------------

def authed_registrar() -> Registrar:
    store = InMemoryCredentialStore([("1001", REALM, "right-pass"), ("1002", REALM, "two")])
    auth = DigestAuthenticator(realm=REALM, store=store, secret=b"s" * 32)
    return Registrar(bindings=BindingStore(), authenticator=auth)


def login(registrar: Registrar, password: str, *, user: str = "1001",
          to_user: str | None = None, now: float = NOW) -> SipResponse:
    first = registrar.handle(register("<sip:1001@10.0.0.1>", user=to_user or user), now=now)
    assert first.status == 401
    challenge = choose_challenge(first.headers.get_all("WWW-Authenticate"))
    value = authorization_for(challenge, ClientCredentials(user, password),
                              method="REGISTER", uri=f"sip:{REALM}").serialize()
    return registrar.handle(register("<sip:1001@10.0.0.1>", cseq=2, user=to_user or user,
                                     authorization=value), now=now + 1)


def test_unauthenticated_register_is_challenged_with_sha256_and_md5() -> None:
    registrar = authed_registrar()
    response = registrar.handle(register("<sip:1001@10.0.0.1>"), now=NOW)
    assert response.status == 401
    values = response.headers.get_all("WWW-Authenticate")
    assert "algorithm=SHA-256" in values[0] and "algorithm=MD5" in values[1]
    assert registrar.bindings.lookup(AOR, NOW) == ()


def test_right_password_registers() -> None:
    registrar = authed_registrar()
    assert login(registrar, "right-pass").status == 200
    assert len(registrar.bindings.lookup(AOR, NOW + 1)) == 1


def test_wrong_password_gets_403_and_no_binding() -> None:
    registrar = authed_registrar()
    assert login(registrar, "wrong").status == 403
    assert registrar.bindings.lookup(AOR, NOW + 1) == ()


def test_user_cannot_register_someone_elses_aor() -> None:
    registrar = authed_registrar()
    response = login(registrar, "two", user="1002", to_user="1001")
    assert response.status == 403
    assert registrar.bindings.lookup(AOR, NOW + 1) == ()


def test_old_nonce_gets_401_stale() -> None:
    registrar = authed_registrar()
    first = registrar.handle(register("<sip:1001@10.0.0.1>"), now=NOW)
    challenge = choose_challenge(first.headers.get_all("WWW-Authenticate"))
    value = authorization_for(challenge, ClientCredentials("1001", "right-pass"),
                              method="REGISTER", uri=f"sip:{REALM}").serialize()
    late = registrar.handle(register("<sip:1001@10.0.0.1>", cseq=2, authorization=value),
                            now=NOW + 10_000)
    assert late.status == 401
    assert "stale=true" in late.headers.get_all("WWW-Authenticate")[0]


def test_expiry_is_reported_to_the_listener_at_the_deadline() -> None:
    registrar, events = open_registrar()
    registrar.handle(register("<sip:1001@10.0.0.1>", expires=120), now=NOW)
    registrar.handle(register("<sip:1001@10.0.0.2>", expires=600, call_id="b"), now=NOW)
    assert registrar.bindings.next_expiry() == NOW + 120
    assert registrar.expire(NOW + 60) == []
    changes = registrar.expire(NOW + 120)
    assert [c.aor for c in changes] == [AOR]
    assert [str(b.contact.uri) for b in changes[0].bindings] == ["sip:1001@10.0.0.2"]
    assert events[-1] == changes[0]
    assert registrar.bindings.next_expiry() == NOW + 600
    registrar.expire(NOW + 600)
    assert events[-1].bindings == () and registrar.bindings.next_expiry() is None


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["phone-a", "phone-b", "phone-c"]),  # Call-ID (one per client)
        st.integers(min_value=1, max_value=6),  # CSeq
        st.sampled_from(["<sip:1001@10.0.0.1>", "<sip:1001@10.0.0.2>;q=0.4", "*"]),
        st.sampled_from([None, 0, 30, 90, 600, 99999]),  # Expires header
        st.floats(min_value=0, max_value=700),  # time step
    ),
    max_size=25,
)


@given(_OPS)
def test_binding_table_invariants_hold_for_any_register_sequence(ops: list[tuple[
        str, int, str, int | None, float]]) -> None:
    limits = RegistrarLimits(min_expires=60, max_expires=3600)
    registrar, _ = open_registrar(limits=limits)
    now = NOW
    for call_id, cseq, contact, expires, step in ops:
        now += step
        response = registrar.handle(register(contact, expires=expires, cseq=cseq,
                                             call_id=call_id), now=now)
        assert response.status in (200, 400, 423)
        if response.status == 423:
            assert response.headers.get("Min-Expires") == "60"
        live = registrar.bindings.lookup(AOR, now)
        assert len(live) <= limits.max_contacts
        assert all(0 < b.expires_at - now <= limits.max_expires + 1e-6 for b in live)
        assert [b.q for b in live] == sorted((b.q for b in live), reverse=True)
        if response.status == 200:
            assert len(response.headers.get_all("Contact")) == len(live)
