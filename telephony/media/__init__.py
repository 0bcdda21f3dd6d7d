"""Hotline's media path: RTP, G.711, jitter buffer, DTMF, audio helpers and the paced engine.

Modules: ``g711`` (codec tables), ``rtp`` (packet + wrap helpers), ``jitterbuffer``, ``dtmf``
(RFC 4733 and SIP INFO), ``audio`` (WAV, levels, alignment/SNR), ``pacing`` (pure schedule),
``timer`` (timerfd wake-ups), ``ports``, ``values`` (params, frames, handles), ``session`` (one
call's stream), ``engine`` (the shared paced loop) and ``bridge`` (caller ↔ agent with tap).
"""
