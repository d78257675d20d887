"""The core: what a job is (`models`), where it is kept (`store`), the one place its state changes
(`manager`), and sweeps of trial jobs (`sweeps`, `sweep_search`). It knows no backend by name."""
