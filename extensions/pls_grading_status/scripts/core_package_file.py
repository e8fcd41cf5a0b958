"""Print the core package definition of the JupyterLab installed here (its staging/package.json).

`jupyter labextension build` needs the core's shared packages and versions; without this file it
downloads them (@jupyterlab/core-meta) at every build. The installed JupyterLab is the one the
learner image runs (both pinned by constraints.txt), so the build needs no network and the
extension shares exactly that lab's singletons.
"""

from pathlib import Path

import jupyterlab

print(Path(jupyterlab.__file__).parent / "staging" / "package.json")
