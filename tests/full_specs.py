"""Fully filled job specs: every field a backend takes set to other than its default.

One place for the specs the round trips use (rerun as is, copy-as CLI and magic): a spec goes
through and must come back unchanged, field for field. Resource names are full (network by
project number, key and TensorBoard in the job's region) so no look-up is needed, and each spec
holds only options its backend takes together (Flex-start cannot use a reservation; a network
and a PSC attachment exclude each other), so Vertex needs three to hold every option. The
frontend's `src/__tests__/fixtures/fullSpecs.json` mirrors these.
"""

from __future__ import annotations

from typing import Any

REGION = "us-central1"
KMS_KEY = f"projects/p/locations/{REGION}/keyRings/ring/cryptoKeys/key"
SERVICE_ACCOUNT = "trainer@p.iam.gserviceaccount.com"

#: Vertex AI, Flex-start: the wait, fallbacks in its region, network, CMEK, TensorBoard, disks.
VERTEX_FLEX: dict[str, Any] = {
    "kind": "train",
    "backend": "vertex",
    "name": "resnet flex",
    "source": {"path": "train.py", "include": ["utils/*.py"]},
    "args": ["--verbose"],
    "parameters": {"epochs": 3, "optimizer": "adam"},
    "resources": {
        "machine_type": "a2-highgpu-1g",
        "accelerator_type": "NVIDIA_TESLA_A100",
        "accelerator_count": 1,
        "boot_disk_type": "pd-ssd",
        "boot_disk_size_gb": 200,
    },
    "region": REGION,
    "requirements": ["torch", "pandas>=2"],
    "environment": "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest",
    "labels": {"team": "ux", "cost-center": "ml"},
    "scheduling": {
        "timeout_seconds": 5400,
        "restart_on_worker_restart": True,
        "strategy": "flex_start",
        "max_wait_seconds": 7200,
        "service_account": SERVICE_ACCOUNT,
        "fallbacks": [
            {"machine_type": "a2-highgpu-2g", "accelerator_count": 2},
            {"strategy": "standard"},
        ],
        "max_cost_usd": 25.5,
    },
    "network": "projects/123456789012/global/networks/vpc",
    "encryption_key": KMS_KEY,
    "tensorboard": f"projects/p/locations/{REGION}/tensorboards/1234",
}

#: Vertex AI on Spot: its restarts, fallbacks to other regions (so nothing bound to one).
VERTEX_SPOT: dict[str, Any] = {
    "kind": "train",
    "backend": "vertex",
    "name": "resnet spot",
    "source": {"path": "train.py"},
    "resources": {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 2,
        "replica_count": 2,
        "boot_disk_type": "pd-standard",
        "boot_disk_size_gb": 150,
    },
    "region": REGION,
    "scheduling": {
        "strategy": "spot",
        "max_preemptions": 5,
        "fallbacks": [
            {"region": "europe-west4"},
            {
                "region": "us-east1",
                "machine_type": "g2-standard-24",
                "accelerator_type": "NVIDIA_L4",
                "strategy": "standard",
            },
        ],
        "max_cost_usd": 12,
    },
}

#: Vertex AI on reserved capacity, reaching a VPC through a PSC interface.
VERTEX_RESERVED: dict[str, Any] = {
    "kind": "train",
    "backend": "vertex",
    "name": "resnet reserved",
    "source": {"path": "train.py"},
    "resources": {"machine_type": "n1-standard-4"},
    "region": REGION,
    "scheduling": {"reservation": "any"},
    "psc_network_attachment": f"projects/p/regions/{REGION}/networkAttachments/attach",
}

#: Dataflow with every one of its options.
DATAFLOW_FULL: dict[str, Any] = {
    "kind": "etl",
    "backend": "dataflow",
    "name": "clean events",
    "source": {"path": "pipelines/clean.py", "include": ["schema.json"]},
    "args": ["--output", "cleaned"],
    "resources": {
        "machine_type": "n1-standard-4",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
        "replica_count": 2,
        "max_workers": 10,
        "boot_disk_size_gb": 50,
    },
    "region": REGION,
    "requirements": ["nltk==3.9.1"],
    "environment": "apache/beam_python3.11_sdk:2.77.0",
    "labels": {"team": "data"},
    "scheduling": {
        "timeout_seconds": 7200,
        "service_account": "pipelines@p.iam.gserviceaccount.com",
        "max_cost_usd": 5.25,
    },
    "encryption_key": KMS_KEY,
    "dataflow": {
        "network": "data-vpc",
        "subnetwork": f"regions/{REGION}/subnetworks/data-subnet",
        "no_public_ips": True,
        "flexrs": True,
        "prime": True,
    },
}

#: This machine: what a local job takes (no requirements: installing them needs the network).
LOCAL_FULL: dict[str, Any] = {
    "kind": "train",
    "backend": "local",
    "name": "local run",
    "source": {"path": "train.py", "include": ["utils/*.py"]},
    "args": ["--verbose", "--seed=7"],
    "parameters": {"epochs": 2, "lr": 0.01, "tag": "a b"},
    "labels": {"team": "ux"},
}

FULL_SPECS: dict[str, dict[str, Any]] = {
    "vertex flex-start": VERTEX_FLEX,
    "vertex spot": VERTEX_SPOT,
    "vertex reserved": VERTEX_RESERVED,
    "dataflow": DATAFLOW_FULL,
    "local": LOCAL_FULL,
}
