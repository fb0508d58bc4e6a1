"""The ``http`` collector kind: the HTTP ingest API (:mod:`wallboard.ingest`) in the collector registry.

The web process serves the API of every ``http`` source without a port; one
with ``options.port`` set is served alone by ``wallboard collect --source NAME``
(:func:`~wallboard.ingest.alone.run`). Its options are
:class:`~wallboard.ingest.options.Options`.
"""

from wallboard.ingest.alone import run
from wallboard.ingest.options import Options

__all__ = ["Options", "run"]
