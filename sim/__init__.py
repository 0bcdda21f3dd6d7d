"""Hotline's simulator and staffing maths (issue 8): the production ACD on virtual time.

- ``sim.staffing``: exact Erlang B / C (M/M/N) and Erlang A (M/M/N+M) figures and the agents a
  target needs; ``sim.chain`` computes the same by brute force, as a check.
- ``sim.clock``: the virtual-time event heap (and its asyncio twin).
- ``sim.model``: arrivals, distributions, rosters and the files they come from.
- ``sim.runner``: one run of ``acd.engine.AcdEngine`` driven on virtual time.
- ``sim.stats`` / ``sim.experiment``: SPEC-Q2 aggregates, replications, batch means.
- ``sim.report`` / ``sim.cli``: JSON, CSV, PNG and the ``hotline sim`` / ``hotline staff``
  commands.
"""
