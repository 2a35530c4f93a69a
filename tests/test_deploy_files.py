"""The deployment files (Dockerfile, compose.yaml, .dockerignore) agree with the code.

`make image-test` builds and runs the image (minutes, outside `make test`); these checks
are the cheap part that catches drift: a setting renamed in settings.py but not in
compose.yaml, a command line the CLI would refuse, a COPY that .dockerignore hides.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from pagewire.cli.main import build_parser
from pagewire.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGEWIRE_SERVICES = ("migrate", "api", "worker", "dispatcher")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def setting_names() -> set[str]:
    return {f"PAGEWIRE_{name.upper()}" for name in Settings.model_fields}


def test_compose_runs_the_documented_deployment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "minio", *PAGEWIRE_SERVICES} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["api"]["command"] == ["serve", "--no-worker", "--no-dispatch"]
    assert services["worker"]["command"] == ["worker"]
    assert services["dispatcher"]["command"] == ["dispatch"]
    # migrate runs once, first; nothing of pagewire starts before it succeeded
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker", "dispatcher"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert len({services[name]["image"] for name in PAGEWIRE_SERVICES}) == 1


def test_compose_shares_only_postgres_and_the_bucket(compose: dict[str, Any]) -> None:
    for name in PAGEWIRE_SERVICES:
        service = compose["services"][name]
        env = service["environment"]
        assert env["PAGEWIRE_DATABASE_URL"].startswith("postgresql://")
        assert env["PAGEWIRE_DATABASE_URL"].endswith("@postgres:5432/pagewire")
        assert env["PAGEWIRE_BLOB_URL"].startswith("s3://")
        assert env["PAGEWIRE_S3_ENDPOINT_URL"] == "http://minio:9000"
        # PostgreSQL processes must share the keys: set, never generated per container
        assert "PAGEWIRE_ENCRYPTION_KEYS" in env and "PAGEWIRE_SECRET_KEY" in env
        assert "volumes" not in service  # no shared disk between nodes


def test_every_pagewire_variable_in_compose_is_a_setting(compose: dict[str, Any]) -> None:
    known = setting_names()
    used = {
        variable
        for service in compose["services"].values()
        for variable in service.get("environment", {})
        if variable.startswith("PAGEWIRE_")
    }
    assert used, "compose.yaml sets no PAGEWIRE_* variable"
    assert used - known == set()


def test_compose_commands_are_ones_the_cli_accepts(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in PAGEWIRE_SERVICES:
        command = compose["services"][name]["command"]
        args = parser.parse_args(command)  # an unknown flag exits here
        assert args.func.__name__ == f"cmd_{command[0]}"
    api = parser.parse_args(compose["services"]["api"]["command"])
    assert api.no_worker and api.no_dispatch


def test_the_image_is_built_from_base_image_and_runs_pagewire_as_a_user() -> None:
    instructions = dockerfile_instructions()
    first_from = next(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    assert ("ARG", "BASE_IMAGE=python:3.12-slim-bookworm") in instructions[:first_from]
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert len(froms) >= 2, "the Dockerfile is multi-stage"
    assert all(rest.split()[0] == "${BASE_IMAGE}" for rest in froms)
    final = instructions[max(i for i, (word, _) in enumerate(instructions) if word == "FROM") :]
    entrypoint = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert [json.loads(rest) for rest in entrypoint] == [["pagewire"]]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("0", "root")
    assert any(word == "HEALTHCHECK" for word, _ in final)


def test_the_data_directory_is_the_volume_and_every_env_is_a_setting() -> None:
    final_env: dict[str, str] = {}
    volumes: list[str] = []
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            final_env.update(item.split("=", 1) for item in shlex.split(rest))
        elif word == "VOLUME":
            volumes += json.loads(rest)
    assert final_env["PAGEWIRE_DATA_DIR"] in volumes
    assert final_env["PAGEWIRE_HOST"] == "0.0.0.0"
    pagewire_env = {name for name in final_env if name.startswith("PAGEWIRE_")}
    assert pagewire_env - setting_names() == set()


def test_dockerignore_lets_every_copy_source_into_the_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        verdict = True  # Docker's rule: the last matching pattern wins
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                verdict = negated
        return verdict

    sources = [
        rest.split()[0]
        for word, rest in dockerfile_instructions()
        if word == "COPY" and not rest.startswith("--from")
    ]
    assert sources
    for source in sources:
        assert included(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    assert not included(".venv") and not included(".git")
    assert (ROOT / "scripts" / "image-healthcheck.py").exists()


def load_healthcheck() -> Any:
    spec = importlib.util.spec_from_file_location(
        "image_healthcheck", ROOT / "scripts" / "image-healthcheck.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("command", "env", "port"),
    [
        ("serve", {}, "8000"),
        ("serve", {"PAGEWIRE_PORT": "9000"}, "9000"),
        ("serve --port 7000", {"PAGEWIRE_PORT": "9000"}, "7000"),
        ("serve --no-worker --port=7001", {}, "7001"),
        ("worker", {}, None),
        ("worker", {"PAGEWIRE_METRICS_PORT": "9100"}, "9100"),
        ("dispatch --metrics-port 9200", {}, "9200"),
        ("migrate", {}, None),
    ],
)
def test_the_healthcheck_asks_the_port_of_the_role_the_container_runs(
    command: str, env: dict[str, str], port: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PAGEWIRE_PORT", "PAGEWIRE_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = ["/opt/pagewire/bin/python", "/opt/pagewire/bin/pagewire", *command.split()]
    assert load_healthcheck()._port(argv) == port
