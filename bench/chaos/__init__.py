"""``make chaos``: the gateway in its production shape (PostgreSQL, Redis with its append-only
file, two ``hotline serve``, two workers, the relay, the spool ingester) driven over every text
channel from a separate process while a schedule injects faults; at the end an audit in the
terms of Jepsen's queue checker (lost, duplicated, unexpected, recovered).

Modules, one concept each: :mod:`.secrets` (the run's credentials), :mod:`.channels` (one
provider-shaped request per intake, signed as the provider signs), :mod:`.drive` (the client
process: sends, retries with the same idempotency key, records each outcome), :mod:`.cluster`
(the processes and the services, killed and restarted on demand), :mod:`.proxy` (a TCP proxy
that can stall or cut the network to PostgreSQL), :mod:`.schedule` (the faults and their
timeline), :mod:`.receivers` (stand-ins that count what the gateway sends out), :mod:`.state`
(what the system holds at the end), :mod:`.audit` (pure: the classification), :mod:`.report`
(bench/results/chaos.{json,md}) and :mod:`.run` (the whole run).
"""
