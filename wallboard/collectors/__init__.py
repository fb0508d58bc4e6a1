"""Collectors: one module per source, each turning source data into typed events.

A collector module exposes ``Options`` (a pydantic model of its ``options:`` in
config.yaml) and ``async def run(ctx: CollectorContext) -> None``. Modules are
named here by import string and imported only when used, so a source's
dependencies load only where that source runs. Adding a source = one module,
one line here, one test file, one config entry.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pydantic import BaseModel

REGISTRY: dict[str, str] = {
    "asterisk_ami": "wallboard.collectors.asterisk_ami",
    "asterisk_queue_log": "wallboard.collectors.asterisk_queue_log",
    "freeswitch": "wallboard.collectors.freeswitch",
    "http": "wallboard.collectors.http",
    "simulator": "wallboard.collectors.simulator",
}


def load(kind: str) -> ModuleType:
    """The collector module for ``kind``; KeyError names the known kinds."""
    try:
        path = REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown collector kind; known: {', '.join(sorted(REGISTRY))}") from None
    return importlib.import_module(path)


def options_model(kind: str) -> type[BaseModel]:
    """The pydantic model validating ``options`` of a collector of ``kind``."""
    model: type[BaseModel] = load(kind).Options
    return model
