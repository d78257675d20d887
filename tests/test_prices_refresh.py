"""List prices refreshed from the Cloud Billing Catalog API (a stand-in on 127.0.0.1): by
`jupyter mlp catalog refresh-prices` and by the server itself, then used by estimates."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import server_manager
from fake_billing import SKUS, VERTEX, FakeBillingServer

from jupyter_mlp.catalog.billing import credentials_for, refresh_prices
from jupyter_mlp.catalog.cloud import estimate_hourly_cost, unpriced
from jupyter_mlp.catalog.pricing import forget_prices
from jupyter_mlp.client import cli

OWN_IMAGE = "us-docker.pkg.dev/my-project/training/fit:3"
# a3-highgpu-8g: 208 vCPUs, 1872 GB, 8 x H100, at the stand-in's Iowa prices.
A3_8G = round(208 * 0.0293227 + 1872 * 0.0025534 + 8 * 11.2660332, 4)
# n1-standard-4 (4 vCPUs, 15 GB) at the stand-in's Netherlands prices.
N1_4_NETHERLANDS = round(4 * 0.0400258 + 15 * 0.0053651, 4)


@pytest.fixture
def billing() -> Iterator[FakeBillingServer]:
    with FakeBillingServer() as server:
        yield server


@pytest.fixture
def prices_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "data" / "prices-refreshed.json"
    monkeypatch.setenv("MLP_PRICES_FILE", str(path))
    yield path
    forget_prices()


@pytest.fixture
def server_refreshes() -> bool:
    """Whether the test's server refreshes its prices itself (a test parametrizes it)."""
    return False


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    billing: FakeBillingServer,
    prices_file: Path,
    server_refreshes: bool,
) -> dict[str, Any]:
    config = {**jp_server_config["MLPExtension"], "billing_endpoint": billing.endpoint}
    config["refresh_prices_hours"] = 24.0 if server_refreshes else 0.0
    # The server refreshes its backends' regions as well as the catalogs' default ones.
    return {
        **jp_server_config,
        "MLPExtension": config,
        "VertexBackend": {"location": "europe-west4"},
    }


def without_disks(estimate: dict[str, Any]) -> float:
    """An estimate's hourly price of its machines and accelerators, its boot disks left out
    (their price is the shipped table's, which a refresh does not change here)."""
    return sum(i["usd_per_hour"] for i in estimate["breakdown"] if not i["item"].endswith(" disk"))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def a3_spec(region: str = "us-central1") -> dict[str, Any]:
    return {
        "backend": "vertex",
        "source": {"code": "pass"},
        "environment": OWN_IMAGE,
        "region": region,
        "resources": {
            "machine_type": "a3-highgpu-8g",
            "accelerator_type": "NVIDIA_H100_80GB",
            "accelerator_count": 8,
        },
    }


def run_cli(*args: str, prices_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLP_PRICES_FILE": str(prices_file)}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlp.client.cli", "catalog", "refresh-prices", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_cli_refreshes_prices_and_the_servers_estimate_uses_them(
    api, billing, prices_file
):
    code, before = await api.call("POST", "validate", body=a3_spec())
    assert code == 200 and before["estimate"]["as_of"] == "2026-11-27"

    done = run_cli("--billing-endpoint", billing.endpoint, prices_file=prices_file)

    assert done.returncode == 0, done.stderr
    assert "vertex: Vertex AI: 14 SKUs read, 12 mapped, 1 not mapped" in done.stdout
    assert "vertex: Compute Engine: 9 SKUs read, 6 mapped, 1 not mapped" in done.stdout
    assert "dataflow: Dataflow: 5 SKUs read, 4 mapped, 0 not mapped" in done.stdout
    assert f"written to {prices_file}" in done.stdout
    code, after = await api.call("POST", "validate", body=a3_spec())
    assert code == 200
    assert without_disks(after["estimate"]) == pytest.approx(A3_8G, abs=1e-3)
    assert without_disks(before["estimate"]) != pytest.approx(A3_8G, abs=1)
    assert after["estimate"]["as_of"] == today()
    assert after["estimate"]["caveats"] == []
    code, catalog = await api.call("GET", "catalog", backend="vertex", region="us-central1")
    assert code == 200 and catalog["prices_as_of"] == today()
    h100 = next(a for a in catalog["accelerators"] if a["type"] == "NVIDIA_H100_80GB")
    assert h100["hourly_usd"] == 11.26603 and h100["price_note"] is None


async def test_an_estimate_in_a_refreshed_region_uses_that_regions_price(api, billing, prices_file):
    regions = ["us-central1", "europe-west4"]
    refresh_prices(billing.endpoint, regions, credentials_for(billing.endpoint))
    spec = {**a3_spec("europe-west4"), "resources": {"machine_type": "n1-standard-4"}}

    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    assert without_disks(answer["estimate"]) == pytest.approx(N1_4_NETHERLANDS, abs=1e-3)
    assert answer["estimate"]["region"] == "europe-west4"


def test_a_region_not_refreshed_scales_the_refreshed_base_price(billing, prices_file):
    refresh_prices(billing.endpoint, ["us-central1"], credentials_for(billing.endpoint))
    resources = {
        "machine_type": "a3-highgpu-8g",
        "accelerator_type": "NVIDIA_H100_80GB",
        "accelerator_count": 8,
    }

    base = estimate_hourly_cost("vertex", resources, "us-central1")
    belgium = estimate_hourly_cost("vertex", resources, "europe-west1")

    assert base is not None and belgium is not None
    assert belgium["usd_per_hour"] == pytest.approx(base["usd_per_hour"] * 1.101, rel=1e-4)


def test_spot_and_flex_start_prices_add_vertex_ais_management_fee(billing, prices_file):
    refresh_prices(billing.endpoint, ["us-central1"], credentials_for(billing.endpoint))

    region = json.loads(prices_file.read_text())["regions"]["us-central1"]["vertex"]

    assert region["spot_accelerators"] == {"NVIDIA_H100_80GB": round(2.253 + 1.4694826, 6)}
    assert region["flex_start_accelerators"] == {"NVIDIA_H100_80GB": round(4.200761 + 1.4694826, 6)}
    flex_a3 = 208 * (0.010934 + 0.0038247) + 1872 * (0.000952 + 0.0003331)
    assert region["flex_start_machine_types"]["a3-highgpu-8g"] == pytest.approx(flex_a3, abs=1e-5)
    assert region["disks"] == {"pd-ssd": 0.195494}
    assert "n1-standard-4" not in region["spot_machine_types"]  # no N1 Spot SKU: unknown


def test_skus_that_do_not_map_are_counted_listed_and_priced_as_before(billing, prices_file):
    refresh = refresh_prices(billing.endpoint, ["us-central1"], credentials_for(billing.endpoint))

    assert refresh.counts["vertex"]["Vertex AI"].unmapped == [
        "Vertex AI: Training/Pipelines on TPU v5p in Iowa"
    ]
    stored = json.loads(prices_file.read_text())
    assert stored["unmapped"]["vertex"]["Compute Engine"] == [
        "DWS Defined Duration SSD backed Local Storage running in Americas"
    ]
    # What no SKU priced still says why it has no price.
    resources = {
        "machine_type": "a3-megagpu-8g",
        "accelerator_type": "NVIDIA_H100_MEGA_80GB",
        "accelerator_count": 8,
    }
    assert estimate_hourly_cost("vertex", resources, "us-central1") is None
    assert "a3-megagpu-8g" in unpriced("vertex", resources)


def test_every_page_of_skus_is_read(billing, prices_file):
    billing.fake.page_limit = 3

    refresh = refresh_prices(billing.endpoint, ["us-central1"], credentials_for(billing.endpoint))

    vertex_skus = sum(1 for row in SKUS if row[0] == VERTEX)
    assert refresh.counts["vertex"]["Vertex AI"].read == vertex_skus
    tokens = [q.get("pageToken") for path, q in billing.fake.requests if VERTEX[0] in path]
    assert len(tokens) == -(-vertex_skus // 3) and tokens[0] is None and all(tokens[1:])
    # The H100's SKU is on a later page than the first.
    region = json.loads(prices_file.read_text())["regions"]["us-central1"]["vertex"]
    assert region["accelerators"]["NVIDIA_H100_80GB"] == 11.266033


def test_without_credentials_nothing_is_read(billing, prices_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    # An https endpoint needs credentials, even at the stand-in's address.
    endpoint = billing.endpoint.replace("http://", "https://")

    code = cli.main(["catalog", "refresh-prices", "--billing-endpoint", endpoint])

    assert code == 2
    error = capsys.readouterr().err
    assert "no Google Cloud credentials" in error and "nothing refreshed" in error
    assert billing.fake.requests == [] and not prices_file.exists()


def test_a_refusal_is_reported_and_the_stored_prices_stay(billing, prices_file, capsys):
    refresh_prices(billing.endpoint, ["us-central1"], credentials_for(billing.endpoint))
    stored = prices_file.read_text()
    billing.fake.disabled = True

    code = cli.main(["catalog", "refresh-prices", "--billing-endpoint", billing.endpoint])

    assert code == 3
    assert "Cloud Billing API has not been used in project" in capsys.readouterr().err
    assert prices_file.read_text() == stored


@pytest.mark.parametrize("server_refreshes", [True])
async def test_the_server_refreshes_its_prices_when_it_has_none(
    api, jp_serverapp, billing, prices_file, server_refreshes
):
    await api.call("GET", "backends")  # builds the manager, which starts the refreshes
    await server_manager(jp_serverapp)
    for _ in range(400):
        if prices_file.exists():
            break
        await asyncio.sleep(0.05)

    code, answer = await api.call("POST", "validate", body=a3_spec())

    assert code == 200
    assert without_disks(answer["estimate"]) == pytest.approx(A3_8G, abs=1e-3)
    assert answer["estimate"]["as_of"] == today()
    stored = json.loads(prices_file.read_text())["regions"]
    assert sorted(stored) == ["europe-west4", "us-central1"]


def test_a_broken_refreshed_file_leaves_the_shipped_prices_in_use(prices_file):
    prices_file.parent.mkdir(parents=True)
    prices_file.write_text("{not json")
    resources = {"machine_type": "n1-standard-4"}

    estimate = estimate_hourly_cost("vertex", resources, "us-central1")

    assert estimate is not None and estimate["as_of"] == "2026-11-27"
    assert without_disks(estimate) == pytest.approx(0.2185, abs=1e-4)
