"""SIP core set-up rate: two SipEndpoints in one process drive INVITE/200/ACK/BYE over UDP.

Usage: python -m bench.sip_bench [--calls N] [--concurrency C] [--transport udp|tcp]

Both ends run in this process, so the figure is the cost of the SIP core for *both* sides of
every call (parse, transactions, serialisation, sockets); a service answering calls from
real phones spends about half of it per call.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from telephony.sip.address import Peer
from telephony.sip.endpoint import ServerTransactionHandle, SipEndpoint
from telephony.sip.message import Headers, SipRequest, new_call_id, new_tag
from telephony.sip.timers import TimerConfig
from telephony.sip.uri import SipUri

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
)


async def answer(handle: ServerTransactionHandle) -> None:
    method = handle.request.method
    if method == "INVITE":
        await handle.respond(180)
        await handle.respond(
            200,
            headers=[("Contact", "<sip:svc@127.0.0.1>")],
            body=SDP,
        )
    elif method == "BYE":
        await handle.respond(200)


async def one_call(client: SipEndpoint, target: Peer) -> None:
    uri = SipUri.parse(f"sip:svc@{target.host_for_uri}:{target.port}")
    from_ = f"<sip:caller@127.0.0.1>;tag={new_tag()}"
    call_id = new_call_id()
    base = [("Max-Forwards", "70"), ("From", from_), ("Call-ID", call_id)]
    invite = SipRequest(
        "INVITE",
        uri,
        Headers(
            [
                *base,
                ("To", "<sip:svc@127.0.0.1>"),
                ("CSeq", "1 INVITE"),
                ("Contact", "<sip:caller@127.0.0.1>"),
                ("Content-Type", "application/sdp"),
            ]
        ),
        SDP,
    )
    tx = client.send_request(invite, target)
    final = await tx.final_response()
    if final.status != 200:
        raise RuntimeError(f"call failed with {final.status}")
    to = final.headers.get("To") or ""
    ack = SipRequest(
        "ACK", uri, Headers([("Via", client.via_for(target)), *base, ("To", to), ("CSeq", "1 ACK")])
    )
    tx.send_ack(ack)
    bye = SipRequest("BYE", uri, Headers([*base, ("To", to), ("CSeq", "2 BYE")]))
    if (await client.send_request(bye, target).final_response()).status != 200:
        raise RuntimeError("BYE failed")


async def run(calls: int, concurrency: int, transport: str) -> None:
    timers = TimerConfig()
    server = await SipEndpoint.start([(transport, "127.0.0.1", 0)], handler=answer, timers=timers)
    client = await SipEndpoint.start(
        [(transport, "127.0.0.1", 0)], handler=lambda h: None, timers=timers
    )
    target = server.local_address(transport)
    semaphore = asyncio.Semaphore(concurrency)

    async def guarded() -> None:
        async with semaphore:
            await one_call(client, target)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(guarded() for _ in range(calls)), return_exceptions=True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    failed = sum(1 for r in results if isinstance(r, BaseException))
    await client.close()
    await server.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"transport={transport} calls={calls} concurrency={concurrency} failed={failed}")
    print(f"wall {wall:.2f} s -> {calls / wall:.0f} call set-ups/s (both ends in one process)")
    print(
        f"CPU {cpu:.2f} s -> {cpu / calls * 1e6:.0f} us CPU per call, both ends; "
        f"peak RSS {rss:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.concurrency, args.transport))


if __name__ == "__main__":
    main()
