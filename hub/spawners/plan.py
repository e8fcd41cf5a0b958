"""What to start for a user: their courses, resource profile, image and course materials.

- Courses: every course the user learns (``nbgrader-<slug>``) or teaches (``formgrade-<slug>``)
  that has a readable folder under ``courses_dir``.
- Profile: ``instructor`` for staff and for anyone who teaches a course; otherwise the profile
  the (first, by slug) course names in ``course.yml`` (``learner`` by default).
- Image: the profile's image if it names one, else the first course's ``image``, else
  ``default_image``. Courses that name different images are logged: one server runs one image.
- Materials: lessons and released assignments of every one of the user's courses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from traitlets import Dict, Float, Instance, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from courses.course_file import CourseSpec
from courses.naming import (
    STAFF_GROUP,
    instructor_courses,
    is_study_group_workspace_user,
    learner_courses,
)
from hub.courses import CourseCatalog
from hub.materials import Material, course_materials
from hub.profiles import INSTRUCTOR, ResourceProfile, ResourceProfiles
from hub.settings import HubSettings
from hub.spawners.ready import wait_until_answering


@dataclass(frozen=True)
class SpawnPlan:
    profile: ResourceProfile
    image: str
    courses: tuple[CourseSpec, ...] = ()
    materials: tuple[Material, ...] = field(default=())

    @property
    def course_slugs(self) -> list[str]:
        return [course.slug for course in self.courses]


def group_names(user) -> set[str]:
    """The user's hub group names (orm groups, or plain names in tests)."""
    return {getattr(group, "name", group) for group in getattr(user, "groups", None) or []}


class StudioSpawnerMixin(LoggingConfigurable):
    """Course, profile and image selection shared by the studio's spawners."""

    courses_dir = Unicode(
        help="The course folders (<slug>/course.yml). Default: STUDIO_COURSES_DIR.",
    ).tag(config=True)

    @default("courses_dir")
    def _courses_dir_default(self):
        return str(HubSettings.from_env().courses_dir)

    release_root = Unicode(
        "",
        help="""Folder holding released (student-version) assignments as
        <release_root>/<slug>/<assignment>/, or, when it contains {slug}, the course's release
        folder itself (e.g. the grader's var/grader/courses/{slug}/release). Empty: nbgrader's
        <course folder>/release/.""",
    ).tag(config=True)

    service_urls = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Environment variable -> URL of a studio service as the user's server reaches
        it, e.g. {"PLS_GRADER_URL": "http://{hub_host}:10101/services/grader/api"}; {hub_host}
        is the host at which the server reaches the hub's API (on Docker, the notebook
        network's gateway). The only additions to a server's environment: no secrets, the
        server's own hub token is its credential.""",
    ).tag(config=True)

    default_image = Unicode(
        "pls-notebook:latest",
        help="Notebook image for users whose courses and profile name none.",
    ).tag(config=True)

    resource_profiles = Instance(ResourceProfiles, help="The named resource profiles.")

    @default("resource_profiles")
    def _resource_profiles_default(self):
        return ResourceProfiles(parent=self)

    ready_poll_interval = Float(
        0.05,
        help="""Seconds between the spawner's own checks that a new server answers, before
        start() returns (hub.spawners.ready): the hub's back-off would otherwise add up to
        seconds of idle time to a spawn. 0 returns at once and leaves it to the hub.""",
    ).tag(config=True)

    workspace_auth_cache_seconds = Integer(
        5,
        help="""Seconds a study group's workspace server (hub.workspaces) trusts the hub's
        answer about a visitor's token (HubOAuth.cache_max_age; JupyterHub's default is 300):
        a member whose share is revoked is refused by the next request after this.""",
    ).tag(config=True)

    @property
    def is_workspace(self) -> bool:
        """Whether this is a study group's shared workspace (its user is the group's)."""
        return is_study_group_workspace_user(self.user.name)

    def get_args(self):
        args = super().get_args()
        if self.is_workspace:
            args.append(f"--HubOAuth.cache_max_age={self.workspace_auth_cache_seconds}")
        return args

    async def answering(self, address: tuple[str, int]) -> tuple[str, int]:
        """``address`` once the server at it answers (bounded by ``http_timeout``)."""
        if self.ready_poll_interval <= 0:
            return address
        ip, port = address
        base = self.server.base_url if getattr(self, "server", None) else "/"
        url = f"http://{ip}:{port}{base}"
        timeout = float(getattr(self, "http_timeout", 30))

        async def still_running() -> bool:
            return await self.poll() is None  # JupyterHub's convention: None while running

        if not await wait_until_answering(url, timeout, self.ready_poll_interval, still_running):
            self.log.warning("%s's server did not answer at %s (stopped, or not within %.0f s)",
                             self.user.name, url, timeout)
        return address

    def service_env(self, hub_api_url: str | None) -> dict[str, str]:
        """:attr:`service_urls` with ``{hub_host}`` filled in from ``hub_api_url``."""
        host = urlparse(hub_api_url or "").hostname or "127.0.0.1"
        return {name: url.replace("{hub_host}", host) for name, url in self.service_urls.items()}

    def spawn_plan(self) -> SpawnPlan:
        """A study group's workspace gets the learner profile, no course and no materials:
        its user is in no hub group (hub.workspaces), so the rules below give exactly that."""
        groups = group_names(self.user)
        learning, teaching = learner_courses(groups), instructor_courses(groups)
        catalog = CourseCatalog(self.courses_dir)
        courses = tuple(
            course
            for slug in sorted(set(learning) | set(teaching))
            if (course := catalog.get(slug)) is not None
        )
        if teaching or STAFF_GROUP in groups or getattr(self.user, "admin", False):
            profile_name = INSTRUCTOR
        elif courses:
            profile_name = courses[0].profile
        else:
            profile_name = "learner"
        profile = self.resource_profiles.get(profile_name)
        images = {course.image for course in courses if course.image}
        if len(images) > 1:
            self.log.warning(
                "%s's courses name different images %s: using %s's",
                self.user.name,
                sorted(images),
                courses[0].slug,
            )
        named = next((course.image for course in courses if course.image), "")
        image = profile.image or named or self.default_image
        materials = tuple(
            m for course in courses for m in course_materials(course, self.release_root or None)
        )
        return SpawnPlan(profile=profile, image=image, courses=courses, materials=materials)
