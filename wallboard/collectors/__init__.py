"""Collectors: one package or module per source, each turning source data into typed events.

A collector exposes ``Options`` (a pydantic model of its ``options:`` in
config.yaml) and ``async def run(ctx: CollectorContext[Options]) -> None``.
Sources are named here by import string and imported only when used, so a
source's dependencies load only where that source runs. :func:`configure`
validates every configured collector's options once, where a process starts
(the command line, the web app), into the typed object its ``run`` receives.
Adding a source = one package, one line here, one test folder, one config entry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from pydantic import BaseModel, ValidationError

from wallboard.config import CollectorConfig, Config, ConfigError, format_errors

REGISTRY: dict[str, str] = {
    "asterisk_ami": "wallboard.collectors.asterisk_ami",
    "asterisk_queue_log": "wallboard.collectors.asterisk_queue_log",
    "freeswitch": "wallboard.collectors.freeswitch",
    "http": "wallboard.collectors.http",
    "simulator": "wallboard.collectors.simulator",
}


@dataclass(frozen=True, slots=True)
class Configured:
    """A configured collector with its options validated into its ``Options`` model."""

    spec: CollectorConfig
    options: BaseModel

    @property
    def source(self) -> str:
        return self.spec.source


def load(kind: str) -> ModuleType:
    """The collector module for ``kind``; KeyError names the known kinds."""
    try:
        path = REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown collector kind; known: {', '.join(sorted(REGISTRY))}") from None
    return importlib.import_module(path)


def configure(config: Config, source: str = "config") -> tuple[Configured, ...]:
    """Every collector of ``config`` with typed options; :class:`ConfigError` naming the key otherwise."""
    out = []
    for i, collector in enumerate(config.collectors):
        try:
            model: type[BaseModel] = load(collector.kind).Options
        except KeyError as exc:
            raise ConfigError(f"{source}: collectors[{i}].kind: {exc.args[0]} (got {collector.kind!r})") from None
        try:
            options = model.model_validate(collector.options)
        except ValidationError as exc:
            inner = format_errors(source, exc, {})
            raise ConfigError(inner.replace(f"{source}: ", f"{source}: collectors[{i}].options.")) from None
        out.append(Configured(collector, options))
    return tuple(out)
