"""HTTP ingest: ``POST /api/v1/events`` takes batches of typed events from any platform.

For systems with no socket interface (cloud ACDs, CRMs, dialers). Each ``http``
collector in the config is one source with its own bearer tokens (secrets from
the environment); the token says which source a batch comes from, compared in
constant time against every configured token.

The contract, strict and predictable for the client:

- ``Content-Type: application/json``, body ``{"events": [ {kind, id, ts, …}, … ]}``;
  ``source`` may be left out (the token names it) and must match if given.
- All or nothing: if any event is invalid, none is taken, and the ``422`` reply
  lists every problem as ``{"index", "id", "field", "reason"}``. A valid batch
  gets ``200 {"accepted": n, "duplicates": d}``.
- ``400`` unreadable body, ``401`` no or unknown token, ``413`` body or batch
  too large, ``415`` not JSON, ``429`` over the source's rate (with
  ``Retry-After``), ``503`` Redis unavailable (nothing taken). Text that is not
  valid Unicode (a lone surrogate such as ``"\\ud800"``, which JSON can spell but
  UTF-8 cannot) is a ``422`` naming the field.
- Idempotent: ids are the client's, namespaced by source; an id accepted in the
  last ``dedup_hours`` is acknowledged as a duplicate and not appended again,
  so a retried batch counts once (and the fold drops repeats as well).

The modules: :mod:`~wallboard.ingest.options` (an ``http`` collector's options,
and which sources the web process serves), :mod:`~wallboard.ingest.validate`
(a batch checked event by event, with :mod:`~wallboard.ingest.admission`'s
rules of the aggregator), :mod:`~wallboard.ingest.rate` (the per-source token
bucket), :mod:`~wallboard.ingest.ids` (the bounded store of accepted ids),
:mod:`~wallboard.ingest.schema` (the JSON Schema of a request body),
:mod:`~wallboard.ingest.routes` (the endpoint and its routes, which the web
process mounts) and :mod:`~wallboard.ingest.alone` (the API served alone on
``options.port`` by ``wallboard collect``).
"""

PREFIX = "/api/v1"
#: Where batches are posted.
PATH = PREFIX + "/events"
#: Where the JSON Schema of a batch is served.
SCHEMA_PATH = PREFIX + "/schema"
#: The API's paths: they take their own bearer tokens, never a display key.
PATHS = (PATH, SCHEMA_PATH)
