"""The cloud catalog's shared part: the hardware loader, list prices, the resource check, and the
facade over each cloud backend's own catalog (in its package: ``backends/<name>/catalog.py``)."""
