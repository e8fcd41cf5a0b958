"""nbgrader's formgrader for one course: ``python -m grading formgrader <course>``.

Instructors grade by hand in nbgrader's own formgrader. It runs as the JupyterHub service
``formgrader-<course>`` (``/services/formgrader-<course>/formgrader``), JupyterHub's documented
"shared notebook server as a service": ``jupyterhub-singleuser`` started with the service's
environment, which lets in only the hub users holding ``access:services!service=formgrader-
<course>`` (the course's instructors, group ``formgrade-<course>``, and hub admins: see
``hub.services``). Its root is the course's nbgrader course directory
(``GRADER_ROOT/courses/<course>``, ``grading.course_directory``), and what instructors change
there is nbgrader's gradebook, which ``grading.manual_grades`` sends on to the LMS.

It runs on the grader's machine as the grader's user, next to every learner's submission, so
it does only what manual grading needs:

- **Only the formgrader**: no Jupyter configuration file of the machine is read
  (``JUPYTER_NO_CONFIG``), no other server extension is loaded (not JupyterLab, not the
  terminals), and nbgrader reads no ``nbgrader_config.py`` (the course's settings come from
  ``grading.course_directory.open_course``; ``load_cwd_config`` is off).
- **No code runs**: :class:`NoKernels` refuses to start a kernel (also through a session), and
  terminals are off. The formgrader's "autograde" would run the learner's notebook in this
  process: it is refused with a pointer to the LMS's "Regrade" (the sandboxed pipeline).
- **Nothing but the gradebook is written**: :class:`ReadOnlyContents` refuses every write of
  the contents API (no one can drop an ``nbgrader_config.py`` that nbgrader would execute) and
  shows only nbgrader's step folders (not the course's settings, which may hold the gradebook's
  password, nor the gradebook file itself). Generating an assignment or feedback, changing an
  assignment or a learner are refused: the LMS and the grader do those.
- **nbgrader's exchange steps refuse** (:class:`RefusedReleaseAssignment` and the others): the
  formgrader's release, collect and release-feedback buttons say which LMS button does it.

Refusals answer ``403`` with ``{"success": false, "error": <sentence>}`` (the shape of the
formgrader's own API answers). The formgrader's exchange buttons (release, unrelease, collect,
release feedback) answer as nbgrader answers a step that failed, ``200`` with
``{"success": false, "error", "log"}``, but with the sentence alone: nbgrader would run the
refusing step and send its traceback (host paths included) to the instructor's browser.
"""

from __future__ import annotations

import json
import os
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from nbgrader.exchange.abc import (
    ExchangeCollect,
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
    ExchangeSubmit,
)
from nbgrader.server_extensions.formgrader import apihandlers
from nbgrader.server_extensions.formgrader import formgrader as nbgrader_formgrader
from nbgrader.server_extensions.formgrader import handlers as nbgrader_handlers
from tornado import web
from traitlets import List, Unicode, default
from traitlets.config import Config

from courses.naming import formgrader_service_name, is_course_slug
from grading.course_directory import open_course
from grading.formgrader_pages import (
    FileDownloads,
    FormgraderLanding,
    InertExporter,
    NoNbconvert,
    OwnScripts,
    SubmissionDownloads,
    event_handler_hashes,
    inert_headers,
    page_templates,
)
from grading.settings import Settings

# nbgrader's step folders: what the contents API shows (read-only); the course directory's
# other files (grading.course_directory) are hidden.
VISIBLE_FOLDERS = ("source", "release", "submitted", "autograded", "feedback")
PRIVATE_FILES = ("nbgrader_config.*", "studio_course.json", "gradebook.db*", "manifests",
                 "locks", "feedback-out")
LMS = "on the assignment's page in the LMS"

NO_KERNELS = (
    "The formgrader runs no code: learners' notebooks run only in the grader's sandbox. "
    f'To run a submission again, use "Regrade" {LMS}.'
)
READ_ONLY = (
    "The formgrader changes no files: grade in its forms (they write nbgrader's gradebook). "
    "The course's notebooks come from its course folder, released by the grader."
)
NO_AUTOGRADE = (
    "Autograding runs in the grader's sandbox, never in the formgrader: use \"Regrade\" "
    f"{LMS} (one submission, or all)."
)
NO_GENERATE = f'The grader generates and releases assignments: use "Release" {LMS}.'
NO_FEEDBACK = (
    "The grader generates the feedback after each grading and after you grade by hand; "
    f'learners get it with "Release feedback" {LMS}.'
)
NO_ASSIGNMENT_CHANGES = (
    f"Assignments and their due dates are set {LMS}, which sends them to the grader."
)
NO_LEARNER_CHANGES = "Learners come from the LMS: enroll them in the course there."
EXCHANGE_REFUSALS = {
    "release_assignment": f'Release the assignment with "Release" {LMS}.',
    "unrelease": f'Withdraw the assignment with "Unrelease" {LMS}.',
    "collect": (
        "Submissions reach the grader when learners submit in JupyterLab; they are listed, and "
        f"autograded, {LMS}. Nothing needs collecting."
    ),
    "release_feedback": f'Release feedback with "Release feedback" {LMS}.',
    "learner_side": "The formgrader is for instructors: learners fetch and submit in JupyterLab.",
}


# -- no kernels, read-only contents ----------------------------------------------------------------


class NoKernels(AsyncMappingKernelManager):
    """A kernel manager that starts no kernel: instructors never run code on the grader's
    machine (a kernel there would see every learner's submission and the gradebook)."""

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        raise web.HTTPError(403, NO_KERNELS)


class ReadOnlyContents(AsyncLargeFileManager):
    """The contents API, read-only and limited to nbgrader's step folders: the course
    directory's other files (its settings, the gradebook, the grader's manifests and locks)
    are neither listed nor read, through any route (``/api/contents``, ``/files/``, ``/view/``:
    every one asks the contents manager for the file's path, :meth:`shown` decides).
    ``/files/`` serves every file as a download (``FileDownloads``)."""

    hide_globs = List(
        Unicode(),
        ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", *PRIVATE_FILES],
        help="Jupyter's hidden names, and the course directory's private files.",
    ).tag(config=True)

    @default("files_handler_class")
    def _files_handler_class_default(self):
        return FileDownloads

    def shown(self, path: str) -> bool:
        """Whether the API path ``path`` may be listed or read: the root, or a path inside
        one of nbgrader's step folders, written plainly (no ``.``, ``..`` or empty part), that
        names no private file (in any letter case) and goes through no symbolic link (a
        submission's link could point anywhere)."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        if not parts:
            return True
        if any(part in {"", ".", ".."} or "\\" in part for part in parts):
            return False
        if parts[0] not in VISIBLE_FOLDERS or any(_private(part) for part in parts):
            return False
        candidate = Path(os.path.abspath(self.root_dir)).joinpath(*parts)
        return candidate.resolve() == Path(os.path.realpath(self.root_dir)).joinpath(*parts)

    def _get_os_path(self, path: str) -> str:
        if not self.shown(path):
            raise web.HTTPError(404, f"No such file or directory: {path}")
        return super()._get_os_path(path)

    # What the handlers ask before reading or writing: a path not shown does not exist (it is
    # absent, not "hidden", which would answer a write 400), so a write is refused as every
    # write is (403) and a read finds nothing (404).
    async def file_exists(self, path: str = "") -> bool:
        return self.shown(path) and await super().file_exists(path)

    async def dir_exists(self, path: str) -> bool:
        return self.shown(path) and await super().dir_exists(path)

    async def exists(self, path: str) -> bool:
        return self.shown(path) and await super().exists(path)

    async def is_hidden(self, path: str) -> bool:
        return self.shown(path) and await super().is_hidden(path)

    async def _dir_model(self, path: str, content: bool = True) -> dict[str, Any]:
        """A folder's model, listing only what :meth:`shown` lets through."""
        model = await super()._dir_model(path, content=False)
        if content:
            folder = Path(self._get_os_path(path))
            names = sorted(entry.name for entry in folder.iterdir())
            children = [f"{path.strip('/')}/{name}".lstrip("/") for name in names
                        if self.should_list(name) and not name.startswith(".")]
            model["content"] = [await self.get(child, content=False) for child in children
                                if self.shown(child)]
            model["format"] = "json"
        return model

    def refuse(self, *_args: Any, **_kwargs: Any):
        raise web.HTTPError(403, READ_ONLY)

    save = delete_file = rename_file = refuse
    create_checkpoint = restore_checkpoint = delete_checkpoint = refuse

    async def new(self, *args: Any, **kwargs: Any):
        self.refuse()

    async def new_untitled(self, *args: Any, **kwargs: Any):
        self.refuse()

    async def copy(self, *args: Any, **kwargs: Any):
        self.refuse()


def _private(name: str) -> bool:
    return any(fnmatch(name.lower(), glob.lower()) for glob in PRIVATE_FILES)


# -- nbgrader's exchange: refused ---------------------------------------------------------------


class RefusedExchangeStep:
    """An nbgrader exchange step the formgrader does not do; ``refusal`` says where to."""

    refusal = EXCHANGE_REFUSALS["learner_side"]

    def start(self) -> None:
        self.fail(self.refusal)


class RefusedReleaseAssignment(RefusedExchangeStep, ExchangeReleaseAssignment):
    refusal = EXCHANGE_REFUSALS["release_assignment"]


class RefusedCollect(RefusedExchangeStep, ExchangeCollect):
    refusal = EXCHANGE_REFUSALS["collect"]


class RefusedReleaseFeedback(RefusedExchangeStep, ExchangeReleaseFeedback):
    refusal = EXCHANGE_REFUSALS["release_feedback"]


class RefusedFetchAssignment(RefusedExchangeStep, ExchangeFetchAssignment):
    pass


class RefusedFetchFeedback(RefusedExchangeStep, ExchangeFetchFeedback):
    pass


class RefusedSubmit(RefusedExchangeStep, ExchangeSubmit):
    pass


class NothingListed(ExchangeList):
    """nbgrader lists released assignments with this step: nothing here (the LMS shows what
    is released), so the formgrader works without an exchange; removing (unreleasing) is
    refused."""

    def start(self) -> list:
        if self.remove:
            self.fail(EXCHANGE_REFUSALS["unrelease"])
        return []


EXCHANGE_STEPS = {
    "release_assignment": RefusedReleaseAssignment,
    "collect": RefusedCollect,
    "release_feedback": RefusedReleaseFeedback,
    "fetch_assignment": RefusedFetchAssignment,
    "fetch_feedback": RefusedFetchFeedback,
    "submit": RefusedSubmit,
    "list": NothingListed,
}


# -- the formgrader's own API: what writes files or runs code is refused ------------------------


def refusal(status: int, message: str):
    """A handler method that answers like the formgrader's API, refusing."""

    def refuse(self, *_args: Any, **_kwargs: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"success": False, "error": message, "log": message}))

    return web.authenticated(refuse)


class NoAutograde(apihandlers.AutogradeHandler):
    post = refusal(403, NO_AUTOGRADE)


class NoGenerateAssignment(apihandlers.AssignHandler):
    post = refusal(403, NO_GENERATE)


class NoGenerateAllFeedback(apihandlers.GenerateAllFeedbackHandler):
    post = refusal(403, NO_FEEDBACK)


class NoGenerateFeedback(apihandlers.GenerateFeedbackHandler):
    post = refusal(403, NO_FEEDBACK)


class NoReleaseAssignment(apihandlers.ReleaseHandler):
    post = refusal(200, EXCHANGE_REFUSALS["release_assignment"])


class NoUnrelease(apihandlers.UnReleaseHandler):
    post = refusal(200, EXCHANGE_REFUSALS["unrelease"])


class NoCollect(apihandlers.CollectHandler):
    post = refusal(200, EXCHANGE_REFUSALS["collect"])


class NoReleaseAllFeedback(apihandlers.ReleaseAllFeedbackHandler):
    post = refusal(200, EXCHANGE_REFUSALS["release_feedback"])


class NoReleaseFeedback(apihandlers.ReleaseFeedbackHandler):
    post = refusal(200, EXCHANGE_REFUSALS["release_feedback"])


class AssignmentReadOnly(apihandlers.AssignmentHandler):
    put = refusal(403, NO_ASSIGNMENT_CHANGES)


class StudentReadOnly(apihandlers.StudentHandler):
    put = refusal(403, NO_LEARNER_CHANGES)


REFUSED_HANDLERS = [
    (r"/formgrader/api/assignment/([^/]+)/assign", NoGenerateAssignment),
    (r"/formgrader/api/assignment/([^/]+)/release", NoReleaseAssignment),
    (r"/formgrader/api/assignment/([^/]+)/unrelease", NoUnrelease),
    (r"/formgrader/api/assignment/([^/]+)/collect", NoCollect),
    (r"/formgrader/api/assignment/([^/]+)/release_feedback", NoReleaseAllFeedback),
    (r"/formgrader/api/assignment/([^/]+)/([^/]+)/release_feedback", NoReleaseFeedback),
    (r"/formgrader/api/assignment/([^/]+)/generate_feedback", NoGenerateAllFeedback),
    (r"/formgrader/api/assignment/([^/]+)/([^/]+)/generate_feedback", NoGenerateFeedback),
    (r"/formgrader/api/assignment/([^/]+)", AssignmentReadOnly),
    (r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde", NoAutograde),
    (r"/formgrader/api/student/([^/]+)", StudentReadOnly),
    (r"/nbconvert/.*", NoNbconvert),
]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "grading.formgrader"}]


class InertFormgrade(nbgrader_formgrader.FormgradeExtension):
    """nbgrader's formgrader extension, showing learners' content inertly
    (``grading.formgrader_pages``): its submission page renders with :class:`InertExporter`,
    its pages with escaping templates, its landing page and its links into submissions with
    the handlers that replace nbgrader's (:data:`REPLACED_HANDLERS`), and every response of
    the server carries the Content-Security-Policy of :class:`InertHeaders`."""

    def init_tornado_settings(self, webapp: Any) -> None:
        super().init_tornado_settings(webapp)
        own = OwnScripts()
        webapp.settings.update(
            nbgrader_exporter=InertExporter(own, config=self.config),
            nbgrader_jinja2_env=page_templates(own),
        )
        # First of the transforms: one that compressed the body would hide its scripts.
        webapp.transforms.insert(0, inert_headers(
            own, event_handler_hashes(nbgrader_handlers.template_path)))

    def init_handlers(self, webapp: Any) -> None:
        """nbgrader's routes, as nbgrader adds them, with the replacing handlers."""
        routes = _Routes(webapp.settings)
        super().init_handlers(routes)
        for host, rules in routes.added:
            webapp.add_handlers(host, [(pattern, REPLACED_HANDLERS.get(handler, handler), *rest)
                                       for pattern, handler, *rest in rules])


class _Routes:
    """Stands for the tornado application while nbgrader adds its routes, to keep them."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.added: list[tuple[str, list]] = []

    def add_handlers(self, host: str, rules: list) -> None:
        self.added.append((host, list(rules)))


REPLACED_HANDLERS = {
    nbgrader_handlers.FormgraderHandler: FormgraderLanding,
    nbgrader_handlers.SubmissionFilesHandler: SubmissionDownloads,
}


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """nbgrader's formgrader (:class:`InertFormgrade`, loaded as nbgrader's
    ``load_jupyter_server_extension`` loads its own) with the refusals in front: tornado
    takes the first rule that matches, so they are added before nbgrader's own handlers."""
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$", [(base_url.rstrip("/") + path, handler) for path, handler in REFUSED_HANDLERS]
    )
    formgrader = InertFormgrade(parent=serverapp)
    formgrader.root_dir = serverapp.root_dir
    formgrader.log = serverapp.log
    formgrader.initialize([])
    formgrader.init_tornado_settings(serverapp.web_app)
    formgrader.init_handlers(serverapp.web_app)


# -- the server ---------------------------------------------------------------------------------


def formgrader_config(settings: Settings, course: str) -> Config:
    """The Jupyter server's and nbgrader's settings for ``course``'s formgrader."""
    opened = open_course(settings.nbgrader_course_dir(course))
    c = Config()
    c.ServerApp.root_dir = str(opened.root)
    c.ServerApp.jpserver_extensions = {"jupyterhub": True, "grading.formgrader": True}
    c.ServerApp.default_url = "/formgrader"
    c.ServerApp.terminals_enabled = False
    c.ServerApp.kernel_manager_class = NoKernels
    c.ServerApp.contents_manager_class = ReadOnlyContents
    c.ServerApp.open_browser = False
    # No kernel or terminal runs, which is what running a Jupyter server as root risks; the
    # grader's user may be root in a container.
    c.ServerApp.allow_root = True
    c.ContentsManager.allow_hidden = False
    c.CourseDirectory.root = str(opened.root)
    c.CourseDirectory.course_id = opened.slug
    c.CourseDirectory.db_url = opened.db_url
    c.NbGrader.load_cwd_config = False
    c.NbGrader.logfile = ""  # nbgrader's apps would write .nbgrader.log into the course folder
    c.FormgradeExtension.debug = False  # it shows the loaded configuration, the db_url with it
    for step, cls in EXCHANGE_STEPS.items():
        setattr(c.ExchangeFactory, step, f"{cls.__module__}.{cls.__qualname__}")
    return c


def serve(settings: Settings, course: str) -> None:
    """Run the formgrader of ``course`` until SIGTERM, with the JupyterHub service environment
    the hub gives it (``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_API_TOKEN``, ...)."""
    if not is_course_slug(course):
        raise SystemExit(f"{course!r} is not a course slug")
    if not (settings.studio_course_dir(course) / "course.yml").is_file():
        raise SystemExit(f"no course {course!r} in {settings.courses_dir}")
    # Before any Jupyter module looks: no config file, no other extension of this machine.
    os.environ["JUPYTER_NO_CONFIG"] = "1"
    os.environ["JUPYTERHUB_SINGLEUSER_LOAD_OTHER_EXTENSIONS"] = "0"
    os.environ.setdefault("JUPYTERHUB_SERVICE_NAME", formgrader_service_name(course))
    config = formgrader_config(settings, course)
    os.chdir(Path(config.ServerApp.root_dir))
    # Imported here for its cost only: the hub's single-user server is what serving needs, not
    # formgrader_config (its tests) nor the extension's loading; it never imports this module.
    from jupyterhub.singleuser.extension import JupyterHubSingleUser

    serverapp = JupyterHubSingleUser.initialize_server(argv=[], config=config)
    serverapp.start()
