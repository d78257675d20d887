// Written by `python -m jupyter_mlp.vocabulary` from jupyter_mlp/vocabulary.py:
// do not edit. src/vocabulary.ts names its parts.

/** Every state a job can be in; the same for every backend. */
export type JobState =
  | 'QUEUED'
  | 'STARTING'
  | 'RUNNING'
  | 'CANCELLING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CANCELLED';

/** What a job does: train a model, or run an ETL pipeline. */
export type JobKind = 'train' | 'etl';

/** What jobs a backend runs and which optional abilities it has. */
export interface IBackendCapabilities {
  /** The kinds of job it runs. */
  kinds: JobKind[];
  /** Its jobs run in a cloud service, not on this machine: they are reviewed before they are submitted, take a region, and their outputs are URIs. */
  remote: boolean;
  /** The fields of a spec's `resources` it reads (and `region` when it takes one). */
  resource_fields: string[];
  /** How it runs a sweep: `native` (the service searches), `trials` (each trial is a job of its own, searched here), or not at all. */
  sweeps: 'native' | 'trials' | null;
  /** A running streaming job can be drained, not only cancelled. */
  drain: boolean;
  /** A running job reports its progress (stages, workers). */
  progress: boolean;
  /** Its jobs have list prices, so an estimated cost. */
  priced: boolean;
  /** It runs jobs on a schedule. */
  schedules: boolean;
  /** Its schedules can run in its cloud (`runs_in: cloud`), with the server closed; else the server fires them. */
  cloud_schedules: boolean;
  /** Scheduling strategies it offers beyond the standard one. */
  scheduling: string[];
  /** The spec's launch options it honours (dotted paths of `OPTION_FIELDS`: `scheduling.strategy`, `network`, `dataflow.flexrs`...); a spec setting another is refused. */
  options: string[];
  /** What a job's id on this backend is called. */
  job_id_label: string;
  /** Where its jobs run, in the words its users know it by. */
  service: string;
  /** Each ability of `train`, `etl`, `sweeps`, `drain`, `progress`, `priced`, `schedules` it lacks, and why. */
  unsupported: Record<string, string>;
}

// prettier-ignore
export const VOCABULARY = {
  "submit_options": [
    {
      "flag": "--backend",
      "fields": [
        "backend"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--name",
      "fields": [
        "name"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--machine-type",
      "fields": [
        "resources.machine_type"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--gpu",
      "fields": [
        "resources.accelerator_type",
        "resources.accelerator_count"
      ],
      "value": "gpu",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--replicas",
      "fields": [
        "resources.replica_count"
      ],
      "value": "int",
      "choices": [],
      "default": 1,
      "alias": null
    },
    {
      "flag": "--max-workers",
      "fields": [
        "resources.max_workers"
      ],
      "value": "int",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--region",
      "fields": [
        "region"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--param",
      "fields": [
        "parameters"
      ],
      "value": "param",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--args",
      "fields": [
        "args"
      ],
      "value": "args",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--requirements",
      "fields": [
        "requirements"
      ],
      "value": "requirements",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--environment",
      "fields": [
        "environment"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--label",
      "fields": [
        "labels"
      ],
      "value": "label",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--mode",
      "fields": [
        "source.mode"
      ],
      "value": "choice",
      "choices": [
        "notebook",
        "script"
      ],
      "default": null,
      "alias": null
    },
    {
      "flag": "--include",
      "fields": [
        "source.include"
      ],
      "value": "repeat",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--timeout",
      "fields": [
        "scheduling.timeout_seconds"
      ],
      "value": "int",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--strategy",
      "fields": [
        "scheduling.strategy"
      ],
      "value": "choice",
      "choices": [
        "standard",
        "spot",
        "flex_start"
      ],
      "default": "standard",
      "alias": null
    },
    {
      "flag": "--spot",
      "fields": [
        "scheduling.spot"
      ],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": "--strategy spot"
    },
    {
      "flag": "--max-wait",
      "fields": [
        "scheduling.max_wait_seconds"
      ],
      "value": "int",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--reservation",
      "fields": [
        "scheduling.reservation"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--fallback",
      "fields": [
        "scheduling.fallbacks"
      ],
      "value": "fallback",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--max-preemptions",
      "fields": [
        "scheduling.max_preemptions"
      ],
      "value": "int",
      "choices": [],
      "default": 3,
      "alias": null
    },
    {
      "flag": "--max-cost",
      "fields": [
        "scheduling.max_cost_usd"
      ],
      "value": "float",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--restart-on-worker-restart",
      "fields": [
        "scheduling.restart_on_worker_restart"
      ],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": null
    },
    {
      "flag": "--service-account",
      "fields": [
        "scheduling.service_account"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--boot-disk-type",
      "fields": [
        "resources.boot_disk_type"
      ],
      "value": "choice",
      "choices": [
        "pd-ssd",
        "pd-standard",
        "hyperdisk-balanced"
      ],
      "default": null,
      "alias": null
    },
    {
      "flag": "--boot-disk-size",
      "fields": [
        "resources.boot_disk_size_gb"
      ],
      "value": "int",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--network",
      "fields": [
        "network"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--psc-attachment",
      "fields": [
        "psc_network_attachment"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--kms-key",
      "fields": [
        "encryption_key"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--tensorboard",
      "fields": [
        "tensorboard"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--dataflow-network",
      "fields": [
        "dataflow.network"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--dataflow-subnetwork",
      "fields": [
        "dataflow.subnetwork"
      ],
      "value": "text",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--no-public-ips",
      "fields": [
        "dataflow.no_public_ips"
      ],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": null
    },
    {
      "flag": "--flexrs",
      "fields": [
        "dataflow.flexrs"
      ],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": null
    },
    {
      "flag": "--prime",
      "fields": [
        "dataflow.prime"
      ],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": null
    },
    {
      "flag": "--wait",
      "fields": [],
      "value": "switch",
      "choices": [],
      "default": false,
      "alias": null
    }
  ],
  "sweep_options": [
    {
      "flag": "--sweep",
      "fields": [
        "sweep.parameters"
      ],
      "value": "sweep",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--metric",
      "fields": [
        "sweep.metric.name",
        "sweep.metric.goal"
      ],
      "value": "metric",
      "choices": [],
      "default": null,
      "alias": null
    },
    {
      "flag": "--trials",
      "fields": [
        "sweep.max_trials"
      ],
      "value": "int",
      "choices": [],
      "default": 10,
      "alias": null
    },
    {
      "flag": "--parallel",
      "fields": [
        "sweep.parallel_trials"
      ],
      "value": "int",
      "choices": [],
      "default": 1,
      "alias": null
    },
    {
      "flag": "--algorithm",
      "fields": [
        "sweep.algorithm"
      ],
      "value": "choice",
      "choices": [
        "grid",
        "random",
        "bayes"
      ],
      "default": "bayes",
      "alias": null
    },
    {
      "flag": "--max-failed",
      "fields": [
        "sweep.max_failed_trials"
      ],
      "value": "int",
      "choices": [],
      "default": null,
      "alias": null
    }
  ],
  "backends": {
    "known": [
      "local",
      "vertex",
      "dataflow"
    ],
    "cloud": [
      "vertex",
      "dataflow"
    ],
    "capabilities": {
      "local": {
        "kinds": [
          "train",
          "etl"
        ],
        "remote": false,
        "resource_fields": [
          "accelerator_count"
        ],
        "sweeps": "trials",
        "drain": false,
        "progress": false,
        "priced": false,
        "schedules": true,
        "cloud_schedules": false,
        "scheduling": [],
        "options": [],
        "job_id_label": "Process id",
        "service": "this machine",
        "unsupported": {
          "drain": "a pipeline on this machine stops when it is cancelled; only Dataflow drains a streaming pipeline",
          "progress": "a job on this machine shows its progress in its log",
          "priced": "jobs on this machine have no list price"
        }
      },
      "vertex": {
        "kinds": [
          "train"
        ],
        "remote": true,
        "resource_fields": [
          "machine_type",
          "accelerator_type",
          "accelerator_count",
          "replica_count",
          "region"
        ],
        "sweeps": "native",
        "drain": false,
        "progress": false,
        "priced": true,
        "schedules": true,
        "cloud_schedules": true,
        "scheduling": [
          "spot",
          "flex_start"
        ],
        "options": [
          "scheduling.timeout_seconds",
          "scheduling.restart_on_worker_restart",
          "scheduling.strategy",
          "scheduling.max_wait_seconds",
          "scheduling.reservation",
          "scheduling.service_account",
          "scheduling.fallbacks",
          "scheduling.max_preemptions",
          "scheduling.max_cost_usd",
          "resources.boot_disk_type",
          "resources.boot_disk_size_gb",
          "network",
          "psc_network_attachment",
          "encryption_key",
          "tensorboard"
        ],
        "job_id_label": "Backend id",
        "service": "Vertex AI",
        "unsupported": {
          "etl": "Vertex AI custom training runs training code; pipelines run on Dataflow",
          "drain": "a Vertex AI job stops when it is cancelled; draining is for streaming pipelines on Dataflow",
          "progress": "Vertex AI reports no progress of a custom job; its log shows it"
        }
      },
      "dataflow": {
        "kinds": [
          "etl"
        ],
        "remote": true,
        "resource_fields": [
          "machine_type",
          "accelerator_type",
          "accelerator_count",
          "max_workers",
          "region"
        ],
        "sweeps": null,
        "drain": true,
        "progress": true,
        "priced": true,
        "schedules": true,
        "cloud_schedules": false,
        "scheduling": [],
        "options": [
          "scheduling.timeout_seconds",
          "scheduling.service_account",
          "scheduling.max_cost_usd",
          "resources.boot_disk_size_gb",
          "encryption_key",
          "dataflow.network",
          "dataflow.subnetwork",
          "dataflow.no_public_ips",
          "dataflow.flexrs",
          "dataflow.prime"
        ],
        "job_id_label": "Backend id",
        "service": "Dataflow",
        "unsupported": {
          "train": "Dataflow runs Apache Beam pipelines; training runs on Vertex AI",
          "sweeps": "Dataflow runs pipelines, not searches over parameters; sweep on Vertex AI or on this machine"
        }
      }
    }
  },
  "kinds": [
    "train",
    "etl"
  ],
  "states": {
    "all": [
      "QUEUED",
      "STARTING",
      "RUNNING",
      "CANCELLING",
      "SUCCEEDED",
      "FAILED",
      "CANCELLED"
    ],
    "terminal": [
      "SUCCEEDED",
      "FAILED",
      "CANCELLED"
    ],
    "active": [
      "STARTING",
      "RUNNING",
      "CANCELLING"
    ],
    "cancellable": [
      "QUEUED",
      "STARTING",
      "RUNNING"
    ]
  }
};
