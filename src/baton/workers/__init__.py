"""Distributed execution: workers on one or many machines sharing one database.

- :mod:`baton.workers.dbos_runtime` — the DBOS workflow and queue, enqueueing (any process)
- :mod:`baton.workers.worker` — a worker process: runs queued executions, heartbeats,
  recovers the executions of dead workers
- :mod:`baton.workers.registry` — the ``workers`` table: liveness and the dead-worker claim
- :mod:`baton.workers.submissions` — ``service_executions``: idempotency keys, queue,
  priority and limits of executions submitted through the API
"""
