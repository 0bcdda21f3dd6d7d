"""SIP digest credentials backed by the accounts: HA1 per realm and algorithm, never passwords.

HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2, RFC 2617 §3.2.2.2) is computed
when a password is set and stored for every configured realm and both algorithms SIP phones
use: MD5 (RFC 3261 §22.4, still what most softphones send) and SHA-256 (RFC 8760). An HA1 is
password-equivalent *for its realm only*, so the table is as secret as password hashes.

``SipCredentialStore.lookup_ha1`` answers from memory, synchronously, because the SIP core is
sans-IO; ``load()`` fills it from the database at start-up and the account service updates it
whenever a password changes.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.models import SipCredential


class DigestAlgorithm(enum.Enum):
    """RFC 7616 §6.1 algorithm names as they appear in the ``algorithm=`` parameter."""

    MD5 = "MD5"
    SHA_256 = "SHA-256"

    @classmethod
    def parse(cls, name: str) -> DigestAlgorithm | None:
        """The algorithm for ``name`` (case-insensitive, RFC 7616 §3.3); None if unsupported.

        A ``-sess`` variant uses the same stored HA1 as its base (RFC 7616 §3.4.2), so it maps
        to its base algorithm; the digest layer adds the nonce and cnonce.
        """
        base = name.strip().upper().removesuffix("-SESS")
        for algorithm in cls:
            if algorithm.value == base:
                return algorithm
        return None

    def digest(self, text: str) -> str:
        data = text.encode("utf-8")
        if self is DigestAlgorithm.MD5:
            return hashlib.md5(data, usedforsecurity=False).hexdigest()
        return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Ha1:
    username: str
    realm: str
    algorithm: DigestAlgorithm
    value: str


def compute_ha1s(username: str, password: str, realms: Iterable[str]) -> list[Ha1]:
    """Every HA1 to store for ``username`` when its password becomes ``password``."""
    return [
        Ha1(username, realm, algorithm, algorithm.digest(f"{username}:{realm}:{password}"))
        for realm in realms
        for algorithm in DigestAlgorithm
    ]


class SipCredentialStore:
    """In-memory view of the ``sip_credentials`` table, matching telephony's CredentialStore."""

    def __init__(self, realms: Sequence[str]) -> None:
        if not realms:
            raise ValueError("SipCredentialStore needs at least one realm")
        self.realms: tuple[str, ...] = tuple(realms)
        self._ha1: dict[tuple[str, str, DigestAlgorithm], str] = {}

    def lookup_ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        """The stored HA1 for this user, realm and algorithm, or None when there is none."""
        parsed = DigestAlgorithm.parse(algorithm)
        if parsed is None:
            return None
        return self._ha1.get((username, realm, parsed))

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Replace the memory with the table (at start-up, or after another process wrote)."""
        async with sessions() as session:
            rows = (await session.execute(select(SipCredential))).scalars().all()
        fresh: dict[tuple[str, str, DigestAlgorithm], str] = {}
        for row in rows:
            algorithm = DigestAlgorithm.parse(row.algorithm)
            if algorithm is not None:
                fresh[(row.username, row.realm, algorithm)] = row.ha1
        self._ha1 = fresh

    async def store(
        self, session: AsyncSession, account_id: int, username: str, password: str
    ) -> None:
        """Within the caller's transaction, replace ``account_id``'s HA1 rows for this password.

        The memory is updated at once; if the caller's transaction rolls back, call ``load``.
        """
        await session.execute(delete(SipCredential).where(SipCredential.account_id == account_id))
        ha1s = compute_ha1s(username, password, self.realms)
        for ha1 in ha1s:
            session.add(
                SipCredential(
                    account_id=account_id,
                    username=ha1.username,
                    realm=ha1.realm,
                    algorithm=ha1.algorithm.value,
                    ha1=ha1.value,
                )
            )
        self._ha1 = {key: value for key, value in self._ha1.items() if key[0] != username}
        for ha1 in ha1s:
            self._ha1[(ha1.username, ha1.realm, ha1.algorithm)] = ha1.value
