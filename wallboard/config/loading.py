"""Reading ``config.yaml``: environment references replaced, validated, errors named by key path.

A bad value fails with :class:`ConfigError`, whose message names each bad key by
its full path (``queues[1].sl_formula``) and the value found there. ``${VAR}``
and ``${VAR:-default}`` in any string are replaced from the environment, so
secrets never need to be written into the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wallboard.config.model import Config, QueueDefaults

DEFAULT_CONFIG_PATH = "config.yaml"
ENV_CONFIG = "WALLBOARD_CONFIG"
ENV_REDIS_URL = "WALLBOARD_REDIS_URL"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names every bad key."""


def config_path(cli_value: str | None) -> Path:
    """``--config`` if given, else ``$WALLBOARD_CONFIG``, else ``./config.yaml``."""
    return Path(cli_value or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, interpolate and validate a config file; raise :class:`ConfigError` if unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(
        raw if raw is not None else {},
        source=str(path),
        base_dir=path.resolve().parent,
        env=os.environ if env is None else env,
    )


def parse_config(
    raw: Any, *, source: str = "config", base_dir: Path = Path("."), env: Mapping[str, str] | None = None
) -> Config:
    """Validate an already-loaded YAML tree."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {type(raw).__name__}")
    tree = _interpolate(raw, env if env is not None else os.environ, source, "")
    _apply_queue_defaults(tree)
    tree["base_dir"] = base_dir
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(format_errors(source, exc, tree)) from None
    return config


def _apply_queue_defaults(tree: dict[str, Any]) -> None:
    """Every key of ``queue_defaults`` goes to each queue that does not set it itself."""
    defaults, queues = tree.get("queue_defaults"), tree.get("queues")
    if not isinstance(defaults, dict) or not isinstance(queues, list):
        return  # validation reports what is wrong with them
    known = set(QueueDefaults.model_fields)
    for queue in queues:
        if isinstance(queue, dict):
            for key, value in defaults.items():
                if key in known:
                    queue.setdefault(key, value)


def _interpolate(node: Any, env: Mapping[str, str], source: str, path: str) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, env, source, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, source, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{source}: {path}: environment variable {name} is not set")

        return _ENV_REF.sub(replace, node)
    return node


def format_errors(source: str, exc: ValidationError, tree: dict[str, Any]) -> str:
    """A pydantic error as lines of ``source: key.path: what is wrong (got …)``."""
    lines = []
    for err in exc.errors()[:10]:
        loc = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        value = err.get("input")
        shown = "" if isinstance(value, (dict, list)) or err["type"] == "missing" else f" (got {value!r})"
        if shown and (", got " in msg or shown.strip() in msg):
            shown = ""  # the message already says what it got
        lines.append(f"{source}: {loc or '(top level)'}: {msg}{shown}")
    if len(exc.errors()) > 10:
        lines.append(f"{source}: … and {len(exc.errors()) - 10} more errors")
    return "\n".join(lines)


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out
