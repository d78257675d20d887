"""Vertex AI's prebuilt training containers, and which one a job runs in.

The facts live in this package's ``data/containers.json`` (framework, version, CPU/GPU/TPU,
Python version, image URI, end of support and of availability, with the page and date they were
read from).
A job runs in the container of the ML framework it uses: the one its requirements name, else
the one installed where the notebook runs, in the version found there when Google offers it,
else the newest one offered. Only images still available on the day of the choice are chosen:
Vertex AI runs no image past its end of availability, so when none is left the job must name
its image (``environment``, or the server's ``VertexBackend.default_image``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from importlib import metadata, resources
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# The framework a job uses is looked for in this order: a notebook that imports torch usually
# has scikit-learn installed too, never the other way round.
DETECTION_ORDER = ("pytorch", "tensorflow", "xgboost", "sklearn")
_REGISTRY_BY_PREFIX = {"europe-": "europe", "me-": "europe", "asia-": "asia", "australia-": "asia"}


@dataclass(frozen=True)
class Container:
    """One prebuilt training container. ``uri`` is on the ``us`` registry host."""

    framework: str
    version: str
    accelerator: str  # "cpu", "gpu" or "tpu"
    python: str
    uri: str
    end_of_support: str
    end_of_availability: str
    cuda: str | None = None

    def uri_in(self, region: str | None) -> str:
        """The same image from the Artifact Registry host nearest ``region``."""
        host = _data()["registry_hosts"][registry_for(region)]
        return host + self.uri[self.uri.index("/") :]

    def available_on(self, day: date) -> bool:
        """Whether Vertex AI still runs this image on ``day`` (its last day included)."""
        return day <= date.fromisoformat(self.end_of_availability)

    def to_json(self, region: str | None = None, today: date | None = None) -> dict[str, Any]:
        day = today or date.today()
        return {**asdict(self), "uri": self.uri_in(region), "available": self.available_on(day)}


class NoCurrentContainer(LookupError):
    """No prebuilt container of the job's framework and hardware is still available."""


@dataclass(frozen=True)
class ContainerChoice:
    """The container chosen for a job, and why (shown to the person who submitted it)."""

    container: Container
    reason: str


@cache
def _data() -> dict[str, Any]:
    text = resources.files("jupyter_mlp.backends.vertex").joinpath("data", "containers.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


@cache
def load_containers() -> tuple[Container, ...]:
    """Every prebuilt training container in the data file."""
    return tuple(Container(**row) for row in _data()["containers"])


def containers_view(region: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The containers for ``GET /mlp/catalog?backend=vertex``, with their source and date;
    each says whether it is ``available`` ``today`` (default: the current date)."""
    data = _data()
    day = today or date.today()
    return {
        "containers": [c.to_json(region, day) for c in load_containers()],
        "containers_as_of": data["as_of"],
        "containers_sources": data["sources"],
        "today": day.isoformat(),
    }


def default_containers(
    default_image: str, region: str | None, today: date | None = None
) -> dict[str, dict[str, Any]]:
    """The image a job naming none runs in, per hardware (``cpu``, ``gpu``, ``tpu``), and why:
    ``default_image`` when set, else the prebuilt container chosen for a job with no
    requirements (by what is installed here); ``uri`` is None when no image can be chosen."""
    chosen: dict[str, dict[str, Any]] = {}
    for kind in ("cpu", "gpu", "tpu"):
        if default_image:
            ended = image_warning(default_image, region, today)
            reason = "VertexBackend.default_image" + (f"; {ended}" if ended else "")
            chosen[kind] = {"uri": default_image, "reason": reason}
            continue
        try:
            choice = choose_container([], kind, today=today)
        except NoCurrentContainer as exc:
            chosen[kind] = {"uri": None, "reason": str(exc)}
        else:
            chosen[kind] = {"uri": choice.container.uri_in(region), "reason": choice.reason}
    return chosen


def find_container(image: str) -> Container | None:
    """The catalog's container of ``image`` (from any of its registry hosts), or None."""
    path = image[image.find("/") :]
    return next((c for c in load_containers() if c.uri[c.uri.index("/") :] == path), None)


def image_warning(image: str, region: str | None, today: date | None = None) -> str | None:
    """Why ``image`` will not run, when it is a prebuilt container past its end of
    availability: its end date and a current alternative (or that the catalog has none)."""
    day = today or date.today()
    container = find_container(image)
    if container is None or container.available_on(day):
        return None
    try:
        alternative = choose_container(
            [], container.accelerator, framework=container.framework, today=day
        )
    except NoCurrentContainer:
        instead = (
            f"the catalog (read {_data()['as_of']}) has no {container.framework} "
            f"{container.accelerator.upper()} image still available; pick a current one from "
            f"{_data()['sources'][0]['url']}"
        )
    else:
        instead = f"use {alternative.container.uri_in(region)} instead"
    return (
        f"{image} ended its availability on {container.end_of_availability}: Vertex AI no "
        f"longer runs it; {instead}"
    )


def registry_for(region: str | None) -> str:
    """``us``, ``europe`` or ``asia``: the registry host that serves ``region`` best."""
    for prefix, registry in _REGISTRY_BY_PREFIX.items():
        if (region or "").startswith(prefix):
            return registry
    return "us"


def accelerator_kind(accelerator_type: str | None, accelerator_count: int) -> str:
    """``cpu``, ``gpu`` or ``tpu`` for an AcceleratorType enum name and count."""
    if not accelerator_type or accelerator_count <= 0:
        return "cpu"
    return "tpu" if accelerator_type.upper().startswith("TPU") else "gpu"


def installed_version(package: str) -> str | None:
    """The version of ``package`` installed in this Python, None when it is not."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def framework_in_use(
    requirements: list[str], installed: Callable[[str], str | None] = installed_version
) -> tuple[str, str | None, str] | None:
    """(framework, major.minor version or None, where it was found) of the job's ML framework:
    named in its requirements first, else installed where the notebook runs; None if neither."""
    frameworks: dict[str, Any] = _data()["frameworks"]
    wanted: dict[str, str | None] = {}
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        wanted[canonicalize_name(requirement.name)] = _pinned_version(requirement)
    for framework in DETECTION_ORDER:
        for package in frameworks[framework]["packages"]:
            if package in wanted:
                return framework, wanted[package], f"{package} in the job's requirements"
    for framework in DETECTION_ORDER:
        for package in frameworks[framework]["packages"]:
            version = installed(package)
            if version is not None:
                return framework, _major_minor(version), f"{package} {version} installed here"
    return None


def choose_container(
    requirements: list[str],
    accelerator: str,
    installed: Callable[[str], str | None] = installed_version,
    *,
    framework: str | None = None,
    today: date | None = None,
) -> ContainerChoice:
    """The prebuilt container for a job with these requirements on ``accelerator`` hardware
    (``cpu``, ``gpu`` or ``tpu``), among those still available ``today`` (default: the current
    date); ``framework`` skips the look for the job's own.

    Raises :class:`NoCurrentContainer`, saying what to do, when none is still available.
    """
    day = today or date.today()
    found = (
        (framework, None, "asked for") if framework else framework_in_use(requirements, installed)
    )
    if found is not None and _offered(found[0], accelerator):
        framework, version, where = found
    else:
        framework = _data()["default_framework"][accelerator]
        version = None
        where = (
            f"{found[2]}, which has no {accelerator.upper()} container"
            if found
            else "no ML framework named in the requirements or installed here"
        )
    offered = sorted(
        _offered(framework, accelerator), key=lambda c: _version_key(c.version), reverse=True
    )
    current = [c for c in offered if c.available_on(day)]
    if not current:
        last = max(offered, key=lambda c: c.end_of_availability)
        raise NoCurrentContainer(
            f"every prebuilt {framework} {accelerator.upper()} container in the catalog (read "
            f"{_data()['as_of']}) has ended its availability, the last on "
            f"{last.end_of_availability}: name the image to run in (the job's environment, or "
            f"the server's VertexBackend.default_image); current images: "
            f"{_data()['sources'][0]['url']}"
        )
    exact = [c for c in current if c.version == version]
    if exact:
        return ContainerChoice(exact[0], f"{framework} {version} ({where})")
    newest = current[0]
    if version is None:
        return ContainerChoice(newest, f"newest {framework} container ({where})")
    ended = " still available" if any(c.version == version for c in offered) else ""
    return ContainerChoice(
        newest,
        f"{framework} {version} ({where}) has no prebuilt container{ended}; "
        f"using the newest, {framework} {newest.version}",
    )


def _offered(framework: str, accelerator: str) -> list[Container]:
    return [
        c for c in load_containers() if c.framework == framework and c.accelerator == accelerator
    ]


def _pinned_version(requirement: Requirement) -> str | None:
    for spec in requirement.specifier:
        if spec.operator in ("==", "~=", "==="):
            return _major_minor(spec.version)
    return None


def _major_minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
