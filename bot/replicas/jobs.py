"""Periodic jobs run by one replica, and moved to another when it dies.

Every replica runs the same loops (:meth:`Jobs.every`); at each turn a loop runs its job only if
this replica holds the job's claim (``job:<name>``). The first replica to ask gets it and keeps
it while its heartbeat renews it, so the job keeps its rhythm on one replica; the others ask
again at every turn and get it once the holder's claim has expired (it died) or was given back
(it stopped). A job is thus never run by two replicas at once, and after a death it resumes on
another replica within one lease period and one turn. Each job is written to be run again
safely (it looks at what is due now and marks what it did in the same database), so a holder
killed mid-run leaves nothing the next run does not finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.replicas.claims import Claims

log = logging.getLogger(__name__)
PREFIX = "job:"


class Jobs:
    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.runs: dict[str, int] = {}  # how often each job ran here (for /healthz)

    def mine(self, what: str) -> bool:
        """Does this replica run ``what`` now? (takes the claim when it is free)"""
        name = PREFIX + what
        if name in self.claims.held:
            return self.claims.keep(name)
        if self.claims.take(name) is None:
            return False
        log.info("%s: run by this replica from now on", what)
        return True

    async def every(
        self, seconds: float, job: Callable[[], object], what: str, *, wait_first: bool = False
    ) -> None:
        """Run ``job`` every ``seconds`` (now first, unless ``wait_first``) while this replica
        holds its claim; a failure is logged, never fatal."""
        if wait_first:
            await asyncio.sleep(seconds)
        while True:
            try:
                if self.mine(what):
                    job()
                    self.runs[what] = self.runs.get(what, 0) + 1
            except Exception as error:
                log.error("%s: %s", what, type(error).__name__)
            await asyncio.sleep(seconds)

    def held(self) -> list[str]:
        return sorted(n[len(PREFIX) :] for n in self.claims.held if n.startswith(PREFIX))
