"""Resource profiles: how much memory, CPU and how many processes a notebook server may use.

A course names its profile in ``course.yml`` (``profile: learner`` by default); instructors and
staff get the ``instructor`` profile. Every value can be overridden from the environment without
touching code: ``HUB_PROFILE_<NAME>_MEM`` (e.g. ``2G``), ``_CPU`` (e.g. ``1.5``), ``_PIDS`` and
``_IMAGE``, where ``<NAME>`` is the profile name upper-cased with ``-`` as ``_``. Setting a
variable for a name that is not built in defines a new profile (based on ``learner``), which a
course can then name. Each profile's variables are the fields of an
:class:`servicekit.settings.EnvSettings` made for it (:func:`profile_settings`), held to
:class:`ResourceProfile`'s own rules: a bad value stops the hub at startup with a
:class:`servicekit.settings.SettingError` naming the variable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated

from jupyterhub.traitlets import ByteSpecification
from pydantic import AfterValidator, Field, create_model
from traitlets import Dict, Float, HasTraits, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from servicekit.settings import EnvSettings

LEARNER = "learner"
INSTRUCTOR = "instructor"

DEFAULT_PROFILES: dict[str, dict] = {
    LEARNER: {"mem_limit": "1G", "cpu_limit": 1.0, "pids_limit": 512},
    INSTRUCTOR: {"mem_limit": "2G", "cpu_limit": 2.0, "pids_limit": 1024},
}

_ENV_PATTERN = re.compile(r"^HUB_PROFILE_([A-Z0-9_]+?)_(MEM|CPU|PIDS|IMAGE)$")


class ResourceProfile(HasTraits):
    """The limits one notebook server runs with."""

    name = Unicode(help="The profile's name, as a course names it in course.yml.")
    mem_limit = ByteSpecification(
        1024**3,
        help="""Memory limit in bytes (suffixes K, M, G, T accepted). Swap is not allowed on top:
        the Docker spawner sets memswap_limit to the same value; the local spawner uses it as
        RLIMIT_AS.""",
    )
    cpu_limit = Float(
        1.0,
        help="CPUs the server may use, as a Docker CPU quota (1.5 = one and a half cores). "
        "The local fallback cannot share CPUs out; it caps CPU time instead.",
    )
    pids_limit = Int(
        512,
        help="Maximum number of processes and threads (a fork bomb stops here).",
    )
    image = Unicode(
        "",
        help="Notebook image for this profile; empty means the course's image from course.yml.",
    )

    @validate("cpu_limit")
    def _positive_cpu(self, proposal):
        if proposal.value <= 0:
            raise ValueError(f"profile {self.name}: cpu_limit must be positive")
        return proposal.value

    @validate("pids_limit")
    def _positive_pids(self, proposal):
        if proposal.value < 16:
            raise ValueError(f"profile {self.name}: pids_limit below 16 cannot start Jupyter")
        return proposal.value

    def __repr__(self) -> str:
        return (
            f"ResourceProfile({self.name!r}, mem_limit={self.mem_limit}, "
            f"cpu_limit={self.cpu_limit}, pids_limit={self.pids_limit}, image={self.image!r})"
        )


class ResourceProfiles(LoggingConfigurable):
    """The named resource profiles the spawners choose from."""

    profiles = Dict(
        key_trait=Unicode(),
        value_trait=Dict(),
        help="""Profiles by name: ``{"learner": {"mem_limit": "1G", "cpu_limit": 1,
        "pids_limit": 512, "image": ""}, ...}``. Missing fields take ResourceProfile's defaults.
        ``learner`` and ``instructor`` always exist (built-in defaults when not given).""",
    ).tag(config=True)

    def names(self) -> list[str]:
        return sorted({*DEFAULT_PROFILES, *self.profiles})

    def get(self, name: str) -> ResourceProfile:
        """The profile called ``name``; an unknown name falls back to ``learner``, logged."""
        if name not in self.profiles and name not in DEFAULT_PROFILES:
            self.log.warning("Unknown resource profile %r: using %r", name, LEARNER)
            name = LEARNER
        fields = {**DEFAULT_PROFILES.get(name, DEFAULT_PROFILES[LEARNER])}
        fields.update(self.profiles.get(name, {}))
        return ResourceProfile(name=name, **fields)


def profile_variable(name: str, field: str) -> str:
    """The variable of ``field`` (``MEM``, ``CPU``, ``PIDS``, ``IMAGE``) of profile ``name``."""
    return f"HUB_PROFILE_{name.upper().replace('-', '_')}_{field}"


def _held_to_profile_rules(name: str, field: str) -> AfterValidator:
    """A value of ``field`` checked by :class:`ResourceProfile` itself (one owner of the rules:
    a memory specification, a positive CPU share, enough processes for Jupyter)."""

    def check(value):
        if value is not None:
            try:
                ResourceProfile(name=name, **{field: value})
            except (TraitError, ValueError) as exc:
                raise ValueError(str(exc)) from None
        return value

    return AfterValidator(check)


@functools.cache
def profile_settings(name: str) -> type[EnvSettings]:
    """The settings class of the profile ``name``: its ``HUB_PROFILE_<NAME>_<FIELD>`` variables,
    each ``None`` when unset (the profile's default stays)."""
    fields = {
        field: (
            Annotated[kind | None, _held_to_profile_rules(name, field)],
            Field(None, validation_alias=profile_variable(name, suffix)),
        )
        for suffix, field, kind in (
            ("MEM", "mem_limit", str),
            ("CPU", "cpu_limit", float),
            ("PIDS", "pids_limit", int),
            ("IMAGE", "image", str),
        )
    }
    return create_model(
        f"ProfileSettings[{name}]",
        __base__=EnvSettings,
        __doc__=f"The variables of the resource profile {name!r}.",
        **fields,
    )


def profiles_from_env(environ: Mapping[str, str]) -> dict[str, dict]:
    """The built-in profiles, and those the environment names, with every
    ``HUB_PROFILE_<NAME>_<FIELD>`` override applied; a bad value raises SettingError."""
    named = {
        match.group(1).lower().replace("_", "-")
        for key, value in environ.items()
        if value.strip() and (match := _ENV_PATTERN.match(key))
    }
    profiles: dict[str, dict] = {}
    for name in sorted({*DEFAULT_PROFILES, *named}):
        overrides = profile_settings(name).from_env(environ).model_dump(exclude_none=True)
        profiles[name] = {**DEFAULT_PROFILES.get(name, DEFAULT_PROFILES[LEARNER]), **overrides}
    return profiles
