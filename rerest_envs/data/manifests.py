"""What each task's official data is and where it lives upstream: one manifest per task.

The data layer downloads a task's files into the user cache when nothing local has them, so every
task that can be fetched says here which files make it up and where they come from. A checksum pins
a file when we know it; `sha256=None` means "not pinned" (the downloader then records the checksum
it saw in a `<name>.sha256` sidecar and logs it, so a maintainer can pin it later).

To add a task, add one `TaskManifest` to `MANIFESTS` (or call `register_manifest` from outside the
package). A file `name` may contain `/` to place it in a subfolder of the task folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

#: Prefix of google-research's raw files; MBPP lives in its `mbpp/` folder.
_GOOGLE_RESEARCH_RAW = "https://raw.githubusercontent.com/google-research/google-research/master"


@dataclass(frozen=True)
class RemoteFile:
    """One official file of a task.

    Attributes:
        name: Path of the file inside the task folder (`mbpp.jsonl`, `questions/testdev.json`).
        url: Where upstream serves it.
        sha256: Hex digest that pins the file, or None when it is not pinned.
        size: Size in bytes when known (checked after download), or None.
    """

    name: str
    url: str
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        path = PurePosixPath(self.name)
        if not self.name or path.is_absolute() or ".." in path.parts:
            raise ValueError(f"RemoteFile.name must be a relative path inside the task folder, got {self.name!r}.")
        if self.sha256 is not None and (len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256)):
            raise ValueError(f"RemoteFile.sha256 must be 64 lowercase hex digits or None, got {self.sha256!r}.")
        if self.size is not None and self.size < 0:
            raise ValueError(f"RemoteFile.size must be >= 0 or None, got {self.size!r}.")


@dataclass(frozen=True)
class TaskManifest:
    """The official files of one task.

    Attributes:
        title: How messages name the task (`MBPP`).
        files: The files that make up the task folder.
        source: Where the files come from, in words (shown when asking for a download).
        license: The data license, for the record.
    """

    title: str
    files: tuple[RemoteFile, ...]
    source: str = ""
    license: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The file names, in manifest order."""
        return tuple(f.name for f in self.files)


#: task folder name -> manifest. Tasks without an entry (alfworld, gqa, t2i for now) are
#: found locally only; give them an entry once their official files and URLs are settled.
MANIFESTS: dict[str, TaskManifest] = {
    "mbpp": TaskManifest(
        title="MBPP",
        files=(
            # Not pinned: the copy in ../shared/data/mbpp differs slightly from google's master (see
            # its PROVENANCE.md), so we have no verified checksum of the upstream bytes yet.
            RemoteFile("mbpp.jsonl", f"{_GOOGLE_RESEARCH_RAW}/mbpp/mbpp.jsonl"),
            RemoteFile("sanitized-mbpp.json", f"{_GOOGLE_RESEARCH_RAW}/mbpp/sanitized-mbpp.json"),
        ),
        source="google-research/google-research on GitHub",
        license="CC BY 4.0",
    ),
    "hotpotqa": TaskManifest(
        title="HotpotQA",
        files=(
            # The official distractor-setting files (hotpotqa.github.io); not pinned (no verified digest yet).
            RemoteFile("hotpot_dev_distractor_v1.json", "http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_dev_distractor_v1.json"),
            RemoteFile("hotpot_train_v1.1.json", "http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_train_v1.1.json"),
            # ReAct's 7405 dev questions in official order (split react500), as the Re-ReST repo holds them.
            RemoteFile(
                "rerest_dev_questions.json",
                "https://raw.githubusercontent.com/PlusLabNLP/Re-ReST/ea773e3d6304904616abde3b609d55be1de4fff1/hotpotqa/data/hotpotqa/dev.json",
                sha256="05001dcdeb2b2b2243a88f23daaf8de9237494cd387e13bc25854d3e031101d3",
                size=1179017,
            ),
        ),
        source="the HotpotQA site (curtis.ml.cmu.edu) and PlusLabNLP/Re-ReST on GitHub",
        license="CC BY-SA 4.0",
    ),
}


def get_manifest(task: str) -> TaskManifest | None:
    """The manifest of `task`, or None when the task cannot be downloaded."""
    return MANIFESTS.get(task)


def register_manifest(task: str, manifest: TaskManifest, *, replace: bool = False) -> None:
    """Make `task` downloadable (for tasks defined outside rerest_envs).

    Args:
        task: Task folder name (`mytask` -> `$RERST_DATA_DIR/mytask`).
        manifest: Its official files.
        replace: Allow overwriting an existing entry.

    Raises:
        ValueError: `task` already has a manifest and `replace` is False.
    """
    if task in MANIFESTS and not replace:
        raise ValueError(f"Task {task!r} already has a manifest; pass replace=True to overwrite it.")
    MANIFESTS[task] = manifest
