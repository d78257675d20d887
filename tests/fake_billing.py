"""A stand-in for the Cloud Billing Catalog API (v1, REST) on 127.0.0.1.

`GET /v1/services` and `GET /v1/services/{id}/skus`, answered with the API's own protobuf types
(`google.cloud.billing_v1`) as JSON, as its reference documents them: a SKU's description,
category (serviceDisplayName, resourceFamily, resourceGroup, usageType), serviceRegions and
pricingInfo (pricingExpression: usageUnit, tieredRates of unitPrice {currencyCode, units,
nanos}). What it models of the service:

- pages: `pageSize` (default and most 5000; the server may return fewer, `page_limit` here),
  `pageToken` / `nextPageToken`; a token not given out is 400 INVALID_ARGUMENT;
- an unknown service is 404 NOT_FOUND; a currency other than USD is 400 INVALID_ARGUMENT (the
  stand-in holds US dollar prices only); a negative `pageSize` is 400 INVALID_ARGUMENT;
- the API not enabled (`disabled`): 403 PERMISSION_DENIED on every call;
- errors in Google's shape: `{"error": {"code", "message", "status"}}`.

`SKUS` is a small, real-looking catalog: descriptions as Google writes them (read from the
Billing Catalog's public SKU pages and published bills), prices near the list prices.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.cloud import billing_v1
from google.type import money_pb2

VERTEX = ("C7E2-9256-1C43", "Vertex AI")
COMPUTE = ("6F81-5844-456A", "Compute Engine")
DATAFLOW = ("2F63-D1F3-8F8B", "Dataflow")
OTHER = ("95FF-2EF5-5EA1", "Cloud Storage")
AMERICAS = ("us-central1", "us-east1", "us-east4", "us-west1", "us-west4")
IOWA = ("us-central1",)
NETHERLANDS = ("europe-west4",)
MAX_PAGE = 5000

# (service, description, resource family, resource group, usage type, regions, unit, USD)
SKUS: list[tuple[tuple[str, str], str, str, str, str, tuple[str, ...], str, float]] = [
    # Vertex AI training, on demand
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on N1 Predefined Instance Core running in Americas",
        "Compute",
        "CPU",
        "OnDemand",
        AMERICAS,
        "h",
        0.0363527,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on N1 Predefined Instance Ram running in Americas",
        "Compute",
        "RAM",
        "OnDemand",
        AMERICAS,
        "GiBy.h",
        0.0048725,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on N1 Predefined Instance Core running in Netherlands",
        "Compute",
        "CPU",
        "OnDemand",
        NETHERLANDS,
        "h",
        0.0400258,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on N1 Predefined Instance Ram running in Netherlands",
        "Compute",
        "RAM",
        "OnDemand",
        NETHERLANDS,
        "GiBy.h",
        0.0053651,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on A3 Instance Core in Iowa",
        "Compute",
        "CPU",
        "OnDemand",
        IOWA,
        "h",
        0.0293227,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on A3 Instance RAM in Iowa",
        "Compute",
        "RAM",
        "OnDemand",
        IOWA,
        "GiBy.h",
        0.0025534,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on NVIDIA H100 80GB in Iowa",
        "Compute",
        "GPU",
        "OnDemand",
        IOWA,
        "h",
        11.2660332,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on Nvidia Tesla T4 GPU running in Americas",
        "Compute",
        "GPU",
        "OnDemand",
        AMERICAS,
        "h",
        0.4025,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on SSD backed PD Capacity",
        "Storage",
        "SSD",
        "OnDemand",
        AMERICAS + NETHERLANDS,
        "GiBy.mo",
        0.195494,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines on TPU v5p in Iowa",
        "Compute",
        "TPU",
        "OnDemand",
        IOWA,
        "h",
        4.2,
    ),
    # Vertex AI's management fee on Compute Engine's Spot and Flex-start VMs
    (
        VERTEX,
        "Vertex AI: Training/Pipelines management fee on NVIDIA H100 80GB in Iowa",
        "Compute",
        "GPU",
        "OnDemand",
        IOWA,
        "h",
        1.4694826,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines management fee on A3 Instance Core in Iowa",
        "Compute",
        "CPU",
        "OnDemand",
        IOWA,
        "h",
        0.0038247,
    ),
    (
        VERTEX,
        "Vertex AI: Training/Pipelines management fee on A3 Instance RAM in Iowa",
        "Compute",
        "RAM",
        "OnDemand",
        IOWA,
        "GiBy.h",
        0.0003331,
    ),
    # Vertex AI, not training
    (
        VERTEX,
        "Vertex AI: Online/Batch Prediction N1 Predefined Instance Core running in Americas",
        "Compute",
        "CPU",
        "OnDemand",
        AMERICAS,
        "h",
        0.0379871,
    ),
    # Compute Engine
    (
        COMPUTE,
        "DWS Defined Duration A3 Core running in Americas",
        "Compute",
        "CPU",
        "OnDemand",
        AMERICAS,
        "h",
        0.010934,
    ),
    (
        COMPUTE,
        "DWS Defined Duration A3 Ram running in Americas",
        "Compute",
        "RAM",
        "OnDemand",
        AMERICAS,
        "GiBy.h",
        0.000952,
    ),
    (
        COMPUTE,
        "Nvidia H100 80GB GPU attached to DWS Defined Duration VMs running in Americas",
        "Compute",
        "GPU",
        "OnDemand",
        AMERICAS,
        "h",
        4.200761,
    ),
    (
        COMPUTE,
        "DWS Defined Duration SSD backed Local Storage running in Americas",
        "Storage",
        "LocalSSD",
        "OnDemand",
        AMERICAS,
        "GiBy.h",
        0.0001096,
    ),
    (
        COMPUTE,
        "Spot Preemptible A3 Instance Core running in Americas",
        "Compute",
        "CPU",
        "Preemptible",
        AMERICAS,
        "h",
        0.0087968,
    ),
    (
        COMPUTE,
        "Spot Preemptible A3 Instance Ram running in Americas",
        "Compute",
        "RAM",
        "Preemptible",
        AMERICAS,
        "GiBy.h",
        0.000766,
    ),
    (
        COMPUTE,
        "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas",
        "Compute",
        "GPU",
        "Preemptible",
        AMERICAS,
        "h",
        2.253,
    ),
    (
        COMPUTE,
        "N1 Predefined Instance Core running in Americas",
        "Compute",
        "CPU",
        "OnDemand",
        AMERICAS,
        "h",
        0.031611,
    ),
    (
        COMPUTE,
        "Commitment v1: A3 Cpu in Americas for 1 Year",
        "Compute",
        "CPU",
        "Commit1Yr",
        AMERICAS,
        "h",
        0.018473,
    ),
    # Dataflow
    (DATAFLOW, "vCPU Time Batch Iowa", "Compute", "CPU", "OnDemand", IOWA, "h", 0.0561),
    (DATAFLOW, "RAM Time Batch Iowa", "Compute", "RAM", "OnDemand", IOWA, "GiBy.h", 0.003557),
    (DATAFLOW, "vCPU Time Streaming Iowa", "Compute", "CPU", "OnDemand", IOWA, "h", 0.069),
    (
        DATAFLOW,
        "Local Disk Time PD Standard Iowa",
        "Storage",
        "PDStandard",
        "OnDemand",
        IOWA,
        "GiBy.h",
        0.0000548,
    ),
    (
        DATAFLOW,
        "Shuffle Data Processed Batch Iowa",
        "ApplicationServices",
        "Shuffle",
        "OnDemand",
        IOWA,
        "GiBy",
        0.011,
    ),
    # Another service, never asked for
    (
        OTHER,
        "Standard Storage US Multi-region",
        "Storage",
        "MultiRegionalStorage",
        "OnDemand",
        ("us",),
        "GiBy.mo",
        0.026,
    ),
]


def sku_message(index: int, row: tuple[Any, ...]) -> billing_v1.Sku:
    """One row of `SKUS` as the API's Sku message."""
    (service_id, display_name), description, family, group, usage, regions, unit, usd = row
    units = int(usd)
    rate = billing_v1.PricingExpression.TierRate(
        start_usage_amount=0,
        unit_price=money_pb2.Money(
            currency_code="USD", units=units, nanos=round((usd - units) * 1e9)
        ),
    )
    sku_id = f"{index:04X}-{len(description):04X}-{units:04X}"
    return billing_v1.Sku(
        name=f"services/{service_id}/skus/{sku_id}",
        sku_id=sku_id,
        description=description,
        category=billing_v1.Category(
            service_display_name=display_name,
            resource_family=family,
            resource_group=group,
            usage_type=usage,
        ),
        service_regions=list(regions),
        pricing_info=[
            billing_v1.PricingInfo(
                summary="",
                pricing_expression=billing_v1.PricingExpression(
                    usage_unit=unit,
                    usage_unit_description=unit,
                    display_quantity=1,
                    tiered_rates=[rate],
                ),
                currency_conversion_rate=1,
            )
        ],
        service_provider_name="Google",
    )


@dataclass
class FakeBilling:
    """The catalog the stand-in serves, and what it was asked."""

    rows: list[tuple[Any, ...]] = field(default_factory=lambda: list(SKUS))
    page_limit: int = MAX_PAGE  # the most SKUs the server puts in one page
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # When set, every call is refused so: the API not enabled in the caller's project.
    disabled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def services(self) -> list[tuple[str, str]]:
        return sorted({row[0] for row in self.rows})

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((path, query))
        if self.disabled:
            return _error(
                403,
                "PERMISSION_DENIED",
                "Cloud Billing API has not been used in project 123 before or it is disabled.",
            )
        try:
            size = int(query.get("pageSize") or MAX_PAGE)
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32)")
        if size < 0:
            return _error(400, "INVALID_ARGUMENT", "Page size must be non-negative.")
        size = min(size or MAX_PAGE, MAX_PAGE, self.page_limit)
        if path == "/v1/services":
            items = [
                {
                    "name": f"services/{sid}",
                    "serviceId": sid,
                    "displayName": name,
                    "businessEntityName": "businessEntities/GCP",
                }
                for sid, name in self.services()
            ]
            return self._page(items, "services", query, size)
        parts = path.split("/")
        if len(parts) != 5 or parts[1:3] != ["v1", "services"] or parts[4] != "skus":
            return _error(404, "NOT_FOUND", f"The requested URL {path} was not found.")
        if parts[3] not in {sid for sid, _ in self.services()}:
            return _error(404, "NOT_FOUND", f"Service services/{parts[3]} not found.")
        if query.get("currencyCode", "USD") != "USD":
            return _error(400, "INVALID_ARGUMENT", "Unsupported currency code.")
        skus = [
            json.loads(billing_v1.Sku.to_json(sku_message(i, row)))
            for i, row in enumerate(self.rows)
            if row[0][0] == parts[3]
        ]
        return self._page(skus, "skus", query, size)

    def _page(
        self, items: list[dict[str, Any]], name: str, query: dict[str, str], size: int
    ) -> tuple[int, dict[str, Any]]:
        token = query.get("pageToken", "")
        start = 0
        if token:
            if not token.startswith("page-") or not token[5:].isdigit():
                return _error(400, "INVALID_ARGUMENT", "Invalid page token.")
            start = int(token[5:])
        end = start + size
        return 200, {
            name: items[start:end],
            "nextPageToken": f"page-{end}" if end < len(items) else "",
        }


def _error(code: int, status: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"code": code, "message": message, "status": status}}


class FakeBillingServer:
    """The stand-in, serving on a free port of 127.0.0.1 while in a `with` block."""

    def __init__(self) -> None:
        self.fake = FakeBilling()
        fake = self.fake

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                code, body = fake.answer(url.path, query)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeBillingServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
