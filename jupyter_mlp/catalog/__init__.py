"""Machine and accelerator facts: cloud catalogs from data files, local GPUs from NVML."""
