"""Softphones that play and record audio for end-to-end tests: baresip (Debian), run as a child.

PJSIP's Python binding has no player or recorder (``pjsua_phones.py``), so what callers and
agents *hear* is checked with baresip, another independently written SIP stack. Each phone is
one ``baresip`` process with its own config directory:

* it speaks a WAV file we choose (``aufile`` audio source; the file is padded with silence to
  the phone's lifetime, because baresip 1.0.0 hangs up when its source file ends);
* it records what it decodes and what it encodes (``sndfile`` filter; baresip 1.0.0 writes
  ``dump-<YYYY-MM-DD-hh-mm-ss>-dec.wav`` / ``-enc.wav`` per call in ``snd_path``), and there is
  no audio player: baresip decodes every received packet as it arrives, so the decoded dump
  grows in step with the RTP stream it receives;
* the test drives it over ``ctrl_tcp`` (netstring-framed JSON commands such as ``dial``,
  ``hangup``, ``accept`` and ``sndcode``, which sends RFC 4733 events when the call negotiated
  telephone-event) and reads its events (``CALL_ESTABLISHED``, ``CALL_CLOSED``, ...).

Every process is started with ``-t`` (baresip quits by itself) and killed by ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 8000  # G.711 (RFC 3551 §4.5.14); aufile needs the source at the codec's rate
BYTES_PER_SAMPLE = 2
BARESIP = "baresip"
MODULES = ("g711.so", "aufile.so", "sndfile.so", "account.so", "menu.so", "ctrl_tcp.so")
STARTUP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 5.0


def available() -> bool:
    return shutil.which(BARESIP) is not None


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(BYTES_PER_SAMPLE)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


def read_growing_wav(path: Path) -> np.ndarray:
    """The samples of a WAV file that may still be written (its sizes not yet filled in)."""
    data = path.read_bytes()
    start = _data_offset(data)
    body = data[start:]
    body = body[: len(body) - len(body) % BYTES_PER_SAMPLE]
    return np.frombuffer(body, dtype="<i2").copy()


def _data_offset(data: bytes) -> int:
    """Offset of the first sample: walk RIFF chunks to ``data`` (libsndfile may add others)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    position = 12
    while position + 8 <= len(data):
        chunk, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        if chunk == b"data":
            return position + 8
        position += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


@dataclass
class BaresipPhone:
    """One baresip process: a SIP account, a voice (WAV) and a recorder, driven over TCP."""

    name: str
    directory: Path
    process: asyncio.subprocess.Process
    control_port: int
    events: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _responses: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _pump: asyncio.Task[None] | None = None
    _tokens: int = 0

    @classmethod
    async def start(
        cls,
        directory: Path,
        *,
        name: str,
        aor: str,
        voice: np.ndarray,
        lifetime: float,
        password: str | None = None,
        register: bool = False,
        answer: str = "manual",
        codec: str | None = None,
    ) -> BaresipPhone:
        """Start baresip as ``aor`` (``sip:user@host:port``), speaking ``voice`` then silence.

        ``register`` makes it REGISTER at the AOR's host with the digest ``password``;
        ``answer`` is baresip's answermode (``auto`` picks up at once, ``manual`` waits for
        :meth:`accept`); ``codec`` (``PCMU``, ``PCMA``) is the only one it offers, if given.
        The process quits by itself after ``lifetime`` seconds.
        """
        directory.mkdir(parents=True, exist_ok=True)
        total = int((lifetime + 5) * SAMPLE_RATE)
        padded = np.zeros(max(total, voice.size), dtype=np.int16)
        padded[: voice.size] = voice
        source = directory / "voice.wav"
        write_wav(source, padded)
        control_port = free_port(socket.SOCK_STREAM)
        modules = "".join(f"module {m}\n" for m in MODULES)
        (directory / "config").write_text(
            "poll_method epoll\n"
            "sip_listen 127.0.0.1:0\n"
            f"audio_source aufile,{source}\n"
            f"snd_path {directory}\n"
            f"ctrl_tcp_listen 127.0.0.1:{control_port}\n"
            # No jitter buffer: each packet is decoded, and dumped, as it arrives, so the
            # recording's length follows the received stream (1-1 decodes nothing in 1.0.0).
            "jitter_buffer_delay 0-0\n"
            "module_path /usr/lib/baresip/modules\n" + modules
        )
        params = [f"answermode={answer}"]
        if codec is not None:
            params.append(f"audio_codecs={codec}/{SAMPLE_RATE}/1")
        if register:
            params += [f"auth_pass={password}", "regint=300"]
        else:
            params.append("regint=0")
        (directory / "accounts").write_text(f"<{aor}>;" + ";".join(params) + "\n")
        log = (directory / "baresip.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            BARESIP,
            "-f",
            str(directory),
            "-t",
            str(int(lifetime)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        phone = cls(name, directory, process, control_port)
        try:
            await phone._connect()
        except BaseException:
            await phone.close()
            raise
        return phone

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.control_port
                )
                break
            except OSError:
                if loop.time() > deadline or self.process.returncode is not None:
                    raise RuntimeError(
                        f"{self.name}: baresip control port never opened; "
                        f"see {self.directory / 'baresip.log'}"
                    ) from None
                await asyncio.sleep(0.05)
        self._pump = asyncio.ensure_future(self._read_messages())

    async def _read_messages(self) -> None:
        assert self._reader is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = int((await self._reader.readuntil(b":"))[:-1])
                payload = await self._reader.readexactly(length + 1)
                message = json.loads(payload[:-1])
                if message.get("response"):
                    future = self._responses.pop(str(message.get("token")), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message.get("event"):
                    self.events.append(message)

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        """Run a baresip command (as typed after ``/``); its response, or an error if refused."""
        assert self._writer is not None
        self._tokens += 1
        token = str(self._tokens)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[token] = future
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._writer.write(netstring(body))
        await self._writer.drain()
        response = await asyncio.wait_for(future, COMMAND_TIMEOUT)
        if not response.get("ok", False):
            raise RuntimeError(f"{self.name}: /{command} {params} refused: {response}")
        return response

    # --- calls -----------------------------------------------------------------------------

    async def dial(self, uri: str) -> None:
        await self.command("dial", uri)

    async def accept(self) -> None:
        await self.command("accept")

    async def hangup(self) -> None:
        await self.command("hangup")

    async def send_digit(self, key: str) -> int:
        """Press ``key`` (RFC 4733 when negotiated); returns how many samples had been heard
        just before, on the decoded recording's timeline (see :meth:`heard_so_far`)."""
        heard = self.heard_so_far()
        await self.command("sndcode", key)
        return heard

    async def speak(self, pcm: np.ndarray, *, seconds: float = 60.0) -> None:
        """Switch the voice mid-call to ``pcm`` followed by silence (a new aufile source)."""
        total = np.zeros(max(pcm.size, int(seconds * SAMPLE_RATE)), dtype=np.int16)
        total[: pcm.size] = pcm
        source = self.directory / f"voice-{len(list(self.directory.glob('voice*.wav')))}.wav"
        write_wav(source, total)
        await self.command("ausrc", f"aufile,{source}")

    def event_types(self) -> list[str]:
        return [str(event.get("type")) for event in self.events]

    async def wait_event(self, kind: str, *, timeout: float = 10.0, count: int = 1) -> None:
        await wait_for(
            lambda: self.event_types().count(kind) >= count,
            timeout,
            f"{self.name}: event {kind} (seen {self.event_types()})",
        )

    # --- what it heard and said ------------------------------------------------------------

    def _dump(self, direction: str) -> Path | None:
        dumps = sorted(self.directory.glob(f"dump-*-{direction}.wav"))
        return dumps[-1] if dumps else None

    def heard(self) -> np.ndarray:
        """Everything the phone decoded in its latest call, at 8 kHz."""
        dump = self._dump("dec")
        return read_growing_wav(dump) if dump is not None else np.zeros(0, np.int16)

    def said(self) -> np.ndarray:
        """Everything the phone encoded and sent in its latest call."""
        dump = self._dump("enc")
        return read_growing_wav(dump) if dump is not None else np.zeros(0, np.int16)

    def heard_so_far(self) -> int:
        """Samples decoded so far in the current call: the decoded dump's length right now."""
        dump = self._dump("dec")
        if dump is None:
            return 0
        with contextlib.suppress(ValueError):
            with dump.open("rb") as file:
                head = file.read(4096)
            return (dump.stat().st_size - _data_offset(head)) // BYTES_PER_SAMPLE
        return 0

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self.process.returncode is None:
            self.process.kill()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(self.process.wait(), 5.0)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)
