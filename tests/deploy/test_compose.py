"""Docker cannot run here, so the deployment files are checked as data."""

import re

import yaml

from metricx.config import PROJECT_ROOT

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()


def test_compose_has_the_whole_stack():
    assert set(SERVICES) == {
        "postgres",
        "redis",
        "migrate",
        "app",
        "pixel",
        "webhooks",
        "worker",
        "scheduler",
    }
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["redis"]["image"] == "redis:7"


def test_databases_keep_their_data_in_volumes_and_report_health():
    assert any("/var/lib/postgresql/data" in v for v in SERVICES["postgres"]["volumes"])
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"]
    assert set(COMPOSE["volumes"]) >= {"pgdata", "redisdata"}


def test_metricx_services_point_at_the_compose_servers_and_wait_for_the_migration():
    for name in ("app", "pixel", "webhooks", "worker", "scheduler"):
        service = SERVICES[name]
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql+psycopg://")
            and "@postgres:" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["METRICX_ENV"] == "production"
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_secrets_are_required_from_the_environment_not_written_in_the_file():
    env = SERVICES["app"]["environment"]
    for name in ("TOKEN_ENCRYPTION_KEY", "COOKIE_KEY"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", env[name])


def test_workers_scale_because_none_pins_a_name_or_port():
    for name in ("worker", "scheduler"):
        assert "container_name" not in SERVICES[name] and "ports" not in SERVICES[name]
    assert SERVICES["worker"]["command"] == ["metricx", "worker"]
    assert SERVICES["scheduler"]["command"] == ["metricx", "scheduler"]
    assert SERVICES["migrate"]["command"] == ["metricx", "migrate"]


def test_app_health_check_uses_the_streamlit_health_endpoint():
    assert "/_stcore/health" in " ".join(SERVICES["app"]["healthcheck"]["test"])


def test_the_pixel_collector_listens_on_all_interfaces_and_reports_health():
    pixel = SERVICES["pixel"]
    assert pixel["command"][:2] == ["metricx", "pixel"] and "0.0.0.0" in pixel["command"]
    assert pixel["ports"] == ["8502:8502"]
    assert "/healthz" in " ".join(pixel["healthcheck"]["test"])


def test_dockerfile_is_multi_stage_non_root_with_a_health_check():
    stages = re.findall(r"^FROM \S+ AS (\w+)", DOCKERFILE, flags=re.M)
    assert stages == ["build", "runtime"]
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*", DOCKERFILE, flags=re.M)
    assert "/_stcore/health" in DOCKERFILE
