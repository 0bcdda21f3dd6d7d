"""Digest authentication: RFC 7616 vectors, our challenges, verification and the client side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.sip.digest import (
    DEFAULT_NONCE_LIFETIME,
    AuthOutcome,
    ClientCredentials,
    DigestAlgorithm,
    DigestAuthenticator,
    DigestChallenge,
    DigestResponse,
    InMemoryCredentialStore,
    authorization_for,
    choose_challenge,
    compute_ha1,
    compute_response,
)
from telephony.sip.errors import RemoteSipError
from telephony.sip.uri import SipUri

REALM = "hotline.test"
URI = SipUri.parse("sip:hotline.test")
NOW = 1_700_000_000.0


def authenticator(**kwargs: object) -> DigestAuthenticator:
    store = InMemoryCredentialStore([("1001", REALM, "s3cret-pass")])
    return DigestAuthenticator(realm=REALM, store=store, secret=b"k" * 32, **kwargs)  # type: ignore[arg-type]


def answer(auth: DigestAuthenticator, password: str = "s3cret-pass", *,
           algorithm: DigestAlgorithm = DigestAlgorithm.SHA256, now: float = NOW,
           nc: int = 1, user: str = "1001", method: str = "REGISTER") -> str:
    challenge = next(c for c in auth.challenges(now) if c.algorithm is algorithm)
    return authorization_for(challenge, ClientCredentials(user, password), method=method,
                             uri=str(URI), nc=nc).serialize()


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        (DigestAlgorithm.MD5, "8ca523f5e9506fed4657c9700eebdbec"),
        (DigestAlgorithm.SHA256,
         "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_example_responses(algorithm: DigestAlgorithm,
                                                 expected: str) -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    assert compute_response(
        ha1=ha1, algorithm=algorithm, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET", uri="/dir/index.html", qop="auth", nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    ) == expected


def test_challenges_offer_sha256_before_md5_with_one_nonce() -> None:
    headers = authenticator().challenge_headers(NOW)
    assert [name for name, _ in headers] == ["WWW-Authenticate", "WWW-Authenticate"]
    parsed = [DigestChallenge.parse(value) for _, value in headers]
    assert [c.algorithm for c in parsed] == [DigestAlgorithm.SHA256, DigestAlgorithm.MD5]
    assert parsed[0].nonce == parsed[1].nonce
    assert all(c.qop == ("auth",) and c.realm == REALM and not c.stale for c in parsed)
    assert authenticator().challenge_headers(NOW, proxy=True)[0][0] == "Proxy-Authenticate"


@pytest.mark.parametrize("algorithm", list(DigestAlgorithm))
def test_right_password_is_accepted_with_either_algorithm(algorithm: DigestAlgorithm) -> None:
    auth = authenticator()
    decision = auth.verify(method="REGISTER", request_uri=URI,
                           authorizations=[answer(auth, algorithm=algorithm)], now=NOW + 1)
    assert decision.outcome is AuthOutcome.ACCEPTED
    assert decision.username == "1001"


def test_wrong_password_and_unknown_user_are_forbidden_alike() -> None:
    auth = authenticator()
    wrong = auth.verify(method="REGISTER", request_uri=URI,
                        authorizations=[answer(auth, "guess")], now=NOW)
    unknown = auth.verify(method="REGISTER", request_uri=URI,
                          authorizations=[answer(auth, user="9999")], now=NOW)
    assert wrong.outcome is unknown.outcome is AuthOutcome.FORBIDDEN
    assert wrong.reason == unknown.reason  # no hint which usernames exist


def test_response_for_another_method_is_refused() -> None:
    auth = authenticator()
    value = answer(auth, method="INVITE")
    decision = auth.verify(method="REGISTER", request_uri=URI, authorizations=[value], now=NOW)
    assert decision.outcome is AuthOutcome.FORBIDDEN


def test_expired_nonce_with_right_password_is_stale() -> None:
    auth = authenticator()
    value = answer(auth)
    decision = auth.verify(method="REGISTER", request_uri=URI, authorizations=[value],
                           now=NOW + DEFAULT_NONCE_LIFETIME + 1)
    assert decision.outcome is AuthOutcome.STALE
    stale = [DigestChallenge.parse(v) for _, v in auth.challenge_headers(NOW, stale=True)]
    assert all(c.stale for c in stale)
    assert "stale=true" in stale[0].serialize()


def test_expired_nonce_with_wrong_password_is_still_forbidden() -> None:
    auth = authenticator()
    decision = auth.verify(method="REGISTER", request_uri=URI,
                           authorizations=[answer(auth, "guess")],
                           now=NOW + DEFAULT_NONCE_LIFETIME + 1)
    assert decision.outcome is AuthOutcome.FORBIDDEN


def test_forged_nonce_is_not_accepted() -> None:
    auth = authenticator()
    challenge = DigestChallenge(REALM, "18bcfe56800.0011223344556677.deadbeef",
                                DigestAlgorithm.SHA256)
    value = authorization_for(challenge, ClientCredentials("1001", "s3cret-pass"),
                              method="REGISTER", uri=str(URI)).serialize()
    decision = auth.verify(method="REGISTER", request_uri=URI, authorizations=[value], now=NOW)
    assert decision.outcome is AuthOutcome.STALE


def test_nonce_from_another_secret_is_not_accepted() -> None:
    other = DigestAuthenticator(realm=REALM, store=InMemoryCredentialStore(),
                                secret=b"other" * 8)
    value = answer(other)
    decision = authenticator().verify(method="REGISTER", request_uri=URI,
                                      authorizations=[value], now=NOW)
    assert decision.outcome is not AuthOutcome.ACCEPTED


def test_replayed_nonce_count_is_refused_and_growing_count_accepted() -> None:
    auth = authenticator()
    challenge = auth.challenges(NOW)[0]
    creds = ClientCredentials("1001", "s3cret-pass")

    def verify(nc: int) -> AuthOutcome:
        value = authorization_for(challenge, creds, method="REGISTER", uri=str(URI), nc=nc)
        return auth.verify(method="REGISTER", request_uri=URI,
                           authorizations=[value.serialize()], now=NOW + 1).outcome

    assert verify(1) is AuthOutcome.ACCEPTED
    assert verify(1) is AuthOutcome.FORBIDDEN
    assert verify(2) is AuthOutcome.ACCEPTED
    assert verify(2) is AuthOutcome.FORBIDDEN


def test_no_qop_form_is_challenged_unless_allowed_and_then_single_use() -> None:
    def legacy(auth: DigestAuthenticator) -> str:
        challenge = auth.challenges(NOW)[1]  # MD5
        ha1 = compute_ha1("1001", REALM, "s3cret-pass", DigestAlgorithm.MD5)
        response = compute_response(ha1=ha1, algorithm=DigestAlgorithm.MD5,
                                    nonce=challenge.nonce, method="REGISTER",
                                    uri="sip:hotline.test;transport=UDP",
                                    qop=None, nc=None, cnonce=None)
        # Exactly the shape pyVoIP 1.6.8 sends (uri with ;transport=UDP, no qop).
        return (f'Digest username="1001",realm="{REALM}",nonce="{challenge.nonce}",'
                f'uri="sip:hotline.test;transport=UDP",response="{response}",algorithm=MD5')

    strict = authenticator()
    assert strict.verify(method="REGISTER", request_uri=URI, authorizations=[legacy(strict)],
                         now=NOW).outcome is AuthOutcome.CHALLENGE
    lenient = authenticator(allow_no_qop=True)
    value = legacy(lenient)
    assert lenient.verify(method="REGISTER", request_uri=URI, authorizations=[value],
                          now=NOW).outcome is AuthOutcome.ACCEPTED
    assert lenient.verify(method="REGISTER", request_uri=URI, authorizations=[value],
                          now=NOW).outcome is AuthOutcome.FORBIDDEN


def test_digest_uri_for_another_target_is_a_bad_request() -> None:
    auth = authenticator()
    challenge = auth.challenges(NOW)[0]
    value = authorization_for(challenge, ClientCredentials("1001", "s3cret-pass"),
                              method="REGISTER", uri="sip:elsewhere.test").serialize()
    decision = auth.verify(method="REGISTER", request_uri=URI, authorizations=[value], now=NOW)
    assert decision.outcome is AuthOutcome.BAD_REQUEST


def test_credentials_for_another_realm_get_a_challenge() -> None:
    value = ('Digest username="1001", realm="other", nonce="x", uri="sip:hotline.test", '
             'response="00"')
    decision = authenticator().verify(method="REGISTER", request_uri=URI,
                                      authorizations=[value], now=NOW)
    assert decision.outcome is AuthOutcome.CHALLENGE
    assert authenticator().verify(method="REGISTER", request_uri=URI, authorizations=[],
                                  now=NOW).outcome is AuthOutcome.CHALLENGE


@pytest.mark.parametrize(
    "value",
    [
        "Basic dXNlcjpwYXNz",
        'Digest username="1001"',
        'Digest username="1001", realm="hotline.test", nonce="n", uri="sip:a", response="r", '
        "qop=auth",  # qop without nc/cnonce
        'Digest username="1001, realm="hotline.test"',
        "Digest realm",
        'Digest username="a", username="b"',
        'Digest username="1001", realm="hotline.test", nonce="n", uri="sip:a", response="r", '
        "algorithm=SHA-512-256",
        "Digest " + "a=b," * 2000,
    ],
)
def test_malformed_authorization_is_a_bad_request_not_a_crash(value: str) -> None:
    decision = authenticator().verify(method="REGISTER", request_uri=URI,
                                      authorizations=[value], now=NOW)
    assert decision.outcome is AuthOutcome.BAD_REQUEST


def test_store_keeps_no_plain_password() -> None:
    store = InMemoryCredentialStore([("1001", REALM, "s3cret-pass")])
    assert "s3cret-pass" not in repr(vars(store))
    assert store.lookup_ha1("1001", REALM, "MD5") == compute_ha1(
        "1001", REALM, "s3cret-pass", DigestAlgorithm.MD5)
    assert store.lookup_ha1("1001", REALM, "SHA-512") is None


def test_client_prefers_sha256_and_skips_unknown_schemes() -> None:
    values = ['Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
              'Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth"',
              'Bearer realm="x"',
              'Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth,auth-int"']
    challenge = choose_challenge(values)
    assert (challenge.algorithm, challenge.nonce) == (DigestAlgorithm.SHA256, "n3")
    assert choose_challenge(values[:1]).algorithm is DigestAlgorithm.MD5
    with pytest.raises(RemoteSipError):
        choose_challenge(values[1:3])


def test_client_answer_round_trips_and_quotes_values() -> None:
    challenge = DigestChallenge('we"ird', "n", DigestAlgorithm.MD5, opaque="op")
    value = authorization_for(challenge, ClientCredentials("a\\b", "p"), method="INVITE",
                              uri="sip:x@y", nc=3, cnonce="c")
    parsed = DigestResponse.parse(value.serialize())
    assert parsed == value
    assert parsed.nc == "00000003" and parsed.opaque == "op"


def test_client_answers_challenge_without_qop_in_rfc2069_form() -> None:
    challenge = DigestChallenge("r", "n", DigestAlgorithm.MD5, qop=())
    value = authorization_for(challenge, ClientCredentials("u", "p"), method="INVITE",
                              uri="sip:x@y")
    assert value.qop is None and value.nc is None
    assert "qop" not in value.serialize()


@given(st.text(max_size=300))
def test_header_parsers_raise_only_remote_errors(text: str) -> None:
    for parse in (DigestResponse.parse, DigestChallenge.parse):
        for candidate in (text, "Digest " + text):
            try:
                parse(candidate)
            except RemoteSipError:
                pass


@given(st.text(max_size=200))
def test_verify_never_crashes_on_hostile_authorization(text: str) -> None:
    decision = authenticator().verify(method="REGISTER", request_uri=URI,
                                      authorizations=["Digest " + text], now=NOW)
    assert decision.outcome is not AuthOutcome.ACCEPTED
