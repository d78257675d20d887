// Written by `python -m jupyter_mlp.client.submit_options` from its table and
// jupyter_mlp/core/models.py: do not edit. src/vocabulary.ts gives it types.
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
      "default": null
    },
    {
      "flag": "--name",
      "fields": [
        "name"
      ],
      "value": "text",
      "choices": [],
      "default": null
    },
    {
      "flag": "--machine-type",
      "fields": [
        "resources.machine_type"
      ],
      "value": "text",
      "choices": [],
      "default": null
    },
    {
      "flag": "--gpu",
      "fields": [
        "resources.accelerator_type",
        "resources.accelerator_count"
      ],
      "value": "gpu",
      "choices": [],
      "default": null
    },
    {
      "flag": "--replicas",
      "fields": [
        "resources.replica_count"
      ],
      "value": "int",
      "choices": [],
      "default": 1
    },
    {
      "flag": "--max-workers",
      "fields": [
        "resources.max_workers"
      ],
      "value": "int",
      "choices": [],
      "default": null
    },
    {
      "flag": "--region",
      "fields": [
        "region"
      ],
      "value": "text",
      "choices": [],
      "default": null
    },
    {
      "flag": "--param",
      "fields": [
        "parameters"
      ],
      "value": "param",
      "choices": [],
      "default": null
    },
    {
      "flag": "--args",
      "fields": [
        "args"
      ],
      "value": "args",
      "choices": [],
      "default": null
    },
    {
      "flag": "--requirements",
      "fields": [
        "requirements"
      ],
      "value": "requirements",
      "choices": [],
      "default": null
    },
    {
      "flag": "--environment",
      "fields": [
        "environment"
      ],
      "value": "text",
      "choices": [],
      "default": null
    },
    {
      "flag": "--label",
      "fields": [
        "labels"
      ],
      "value": "label",
      "choices": [],
      "default": null
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
      "default": null
    },
    {
      "flag": "--include",
      "fields": [
        "source.include"
      ],
      "value": "repeat",
      "choices": [],
      "default": null
    },
    {
      "flag": "--timeout",
      "fields": [
        "scheduling.timeout_seconds"
      ],
      "value": "int",
      "choices": [],
      "default": null
    },
    {
      "flag": "--spot",
      "fields": [
        "scheduling.spot"
      ],
      "value": "switch",
      "choices": [],
      "default": false
    },
    {
      "flag": "--restart-on-worker-restart",
      "fields": [
        "scheduling.restart_on_worker_restart"
      ],
      "value": "switch",
      "choices": [],
      "default": false
    },
    {
      "flag": "--service-account",
      "fields": [
        "scheduling.service_account"
      ],
      "value": "text",
      "choices": [],
      "default": null
    },
    {
      "flag": "--wait",
      "fields": [],
      "value": "switch",
      "choices": [],
      "default": false
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
      "default": null
    },
    {
      "flag": "--metric",
      "fields": [
        "sweep.metric.name",
        "sweep.metric.goal"
      ],
      "value": "metric",
      "choices": [],
      "default": null
    },
    {
      "flag": "--trials",
      "fields": [
        "sweep.max_trials"
      ],
      "value": "int",
      "choices": [],
      "default": 10
    },
    {
      "flag": "--parallel",
      "fields": [
        "sweep.parallel_trials"
      ],
      "value": "int",
      "choices": [],
      "default": 1
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
      "default": "bayes"
    },
    {
      "flag": "--max-failed",
      "fields": [
        "sweep.max_failed_trials"
      ],
      "value": "int",
      "choices": [],
      "default": null
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
    "local": "local"
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
    ]
  }
};
