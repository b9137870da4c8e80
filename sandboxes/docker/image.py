"""The sandbox image: a minimal root file system holding a Python interpreter and the worker.

Two ways to make it, with the same layout inside:

* **Offline (default, no registry needed)**: `python -m sandboxes.docker.image build` copies the
  interpreter running it (`sys.base_prefix`: the binary, the standard library without
  site-packages, tests, IDLE, tkinter and ensurepip, `libpython*.so*`) to `/usr/local` (the pure
  Python part of the standard library packed as sources plus compiled code in
  `/usr/local/lib/python3XY.zip`, which is on the default `sys.path`: few files keep container
  starts fast on docker's vfs storage driver), adds every
  shared library that the interpreter and the standard-library extension modules link to (found with
  `ldd`), the dynamic loader, a minimal `/etc/passwd` and `/etc/group`, and `sandboxes/worker.py` at
  `/opt/rerest/worker.py`; then tars it (sorted entries, owner root, fixed times: the same inputs give
  byte-identical layers) and `docker import`s it with CMD, WORKDIR, ENV and labels. The backend calls
  this itself when the image is missing or outdated (`DockerSandbox(build_if_missing=True)`).
* **From the Dockerfile** next to this file (for users who can pull `python:3.11-slim`)::

      docker build -f sandboxes/docker/Dockerfile -t rerest-sandbox:latest \\
          --build-arg WORKER_SHA256=$(python -m sandboxes.docker.image sha) sandboxes

  or `python -m sandboxes.docker.image build --dockerfile`.

Both give `/usr/local/bin/python3`, `/opt/rerest/worker.py`, `WORKDIR /work` and the command
`python3 -I -S /opt/rerest/worker.py --uid 65000 --base /work --lock-tmp`. The image carries the
label `rerest.worker_sha256` (sha256 of worker.py), so the backend notices an image built from an
older worker and rebuilds it (or, with `build_if_missing=False`, says how to).

Programs in the image see the standard library only, and there is no shell (`os.system` fails).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sandboxes.errors import SandboxUnavailable

DEFAULT_TAG = "rerest-sandbox:latest"
WORKER_SOURCE = Path(__file__).resolve().parent.parent / "worker.py"
DOCKERFILE = Path(__file__).resolve().with_name("Dockerfile")
WORKER_IN_IMAGE = "/opt/rerest/worker.py"
PYTHON_IN_IMAGE = "/usr/local/bin/python3"
#: uid of jobs when the container runs the image's own CMD (the backend passes a unique uid per container).
DEFAULT_JOB_UID = 65000
CMD = ["python3", "-I", "-S", WORKER_IN_IMAGE, "--uid", str(DEFAULT_JOB_UID), "--base", "/work", "--lock-tmp"]
#: Identifies the code that lays out the image (this file): an image built by other code is rebuilt.
RECIPE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

LABEL_IMAGE = "rerest.sandbox_image"
LABEL_WORKER = "rerest.worker_sha256"
LABEL_RECIPE = "rerest.image_recipe"
LABEL_PYTHON = "rerest.python"

#: Time stamp of every entry (the stdlib zip holds unchecked-hash .pyc files, which ignore file times).
FIXED_MTIME = 946_684_800  # 2000-01-01
#: Standard-library folders left out (tests, GUI, installers, build files) and extension modules left out.
SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo",
             "ensurepip", "__phello__"}
SKIP_DIR_PREFIXES = ("config-",)
SKIP_EXTENSIONS = re.compile(r"^(_test\w*|_ctypes_test|_xxtestfuzz|_xxsubinterpreters|xxlimited\w*|_tkinter)\.")


def worker_sha256() -> str:
    """sha256 of `sandboxes/worker.py`: the label that tells a current image from an outdated one."""
    return hashlib.sha256(WORKER_SOURCE.read_bytes()).hexdigest()


def expected_labels() -> dict[str, str]:
    return {LABEL_IMAGE: "1", LABEL_WORKER: worker_sha256(), LABEL_RECIPE: RECIPE}


# ----------------------------------------------------------------------------------------------
# Root file system
# ----------------------------------------------------------------------------------------------
@dataclass
class _Entry:
    kind: str  # "dir" | "file" | "symlink"
    mode: int = 0o755
    source: str | None = None  # host file to copy (kind "file")
    data: bytes | None = None  # literal content (kind "file")
    target: str = ""  # kind "symlink"
    mtime: int = FIXED_MTIME
    strip: bool = False


@dataclass
class RootfsInfo:
    """What `write_rootfs` put in the tar."""

    files: int = 0
    bytes: int = 0
    libraries: list[str] = field(default_factory=list)
    python: str = ""
    modules: int = 0


class _Rootfs:
    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}

    def dir(self, path: str, mode: int = 0o755) -> None:
        path = os.path.normpath(path)
        if path == "/":
            return
        self.dir(os.path.dirname(path))
        if path not in self.entries:
            self.entries[path] = _Entry("dir", mode)

    def file(self, path: str, *, source: str | None = None, data: bytes | None = None, mode: int | None = None,
             mtime: int = FIXED_MTIME, strip: bool = False) -> None:
        path = os.path.normpath(path)
        self.dir(os.path.dirname(path))
        if mode is None:
            mode = stat.S_IMODE(os.stat(source).st_mode) if source else 0o644
        self.entries[path] = _Entry("file", mode, source=source, data=data, mtime=mtime, strip=strip)

    def symlink(self, path: str, target: str) -> None:
        path = os.path.normpath(path)
        self.dir(os.path.dirname(path))
        self.entries.setdefault(path, _Entry("symlink", 0o777, target=target))

    def host(self, host_path: str, *, strip: bool = False) -> None:
        """Copy a host file to the same path, recreating every symlink met on the way (e.g. /lib -> usr/lib)."""
        parts = os.path.normpath(host_path).strip("/").split("/")
        current = ""
        for i, part in enumerate(parts):
            current += "/" + part
            if os.path.islink(current):
                target = os.readlink(current)
                self.symlink(current, target)
                base = target if target.startswith("/") else os.path.join(os.path.dirname(current), target)
                rest = parts[i + 1:]
                self.host(os.path.normpath(os.path.join(base, *rest)), strip=strip)
                return
        self.file(current, source=current, strip=strip)

    def write(self, fileobj: Any, workdir: str) -> RootfsInfo:
        info = RootfsInfo()
        strip_tool = shutil.which("strip")
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for path in sorted(self.entries):
                entry = self.entries[path]
                member = tarfile.TarInfo(path.lstrip("/"))
                member.mode, member.mtime = entry.mode, entry.mtime
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                if entry.kind == "dir":
                    member.type = tarfile.DIRTYPE
                    tar.addfile(member)
                elif entry.kind == "symlink":
                    member.type, member.linkname = tarfile.SYMTYPE, entry.target
                    tar.addfile(member)
                else:
                    data = entry.data
                    if data is None:
                        assert entry.source is not None
                        data = _read_maybe_stripped(entry.source, strip_tool if entry.strip else None, workdir)
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
                    info.files += 1
                    info.bytes += len(data)
        return info


def _read_maybe_stripped(path: str, strip_tool: str | None, workdir: str) -> bytes:
    """The file's bytes, without debug sections when `strip` is available (libpython: 23 MB -> 4 MB)."""
    if strip_tool:
        out = os.path.join(workdir, "stripped")
        done = subprocess.run([strip_tool, "--strip-debug", "-o", out, path], capture_output=True)
        if done.returncode == 0:
            data = Path(out).read_bytes()
            os.unlink(out)
            return data
    return Path(path).read_bytes()


_LDD_LINE = re.compile(r"^\s*(?:(\S+)\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def _shared_libraries(elf_files: list[str]) -> dict[str, str]:
    """soname -> host path of every shared library (and the loader) the given ELF files need."""
    found: dict[str, str] = {}
    ldd = shutil.which("ldd")
    if ldd is None:
        raise SandboxUnavailable("Building the sandbox image needs `ldd` (glibc's libc-bin package) on PATH.")
    for chunk in range(0, len(elf_files), 64):
        done = subprocess.run([ldd, *elf_files[chunk:chunk + 64]], capture_output=True, text=True)
        for line in done.stdout.splitlines():
            match = _LDD_LINE.match(line)
            if match:
                name, path = match.group(1) or os.path.basename(match.group(2)), match.group(2)
                found.setdefault(name, path)
            elif "not found" in line:
                raise SandboxUnavailable(f"Building the sandbox image: a library of the interpreter is missing: {line.strip()}")
    return found


def _python_layout(prefix: Path) -> tuple[Path, Path, list[Path]]:
    """(interpreter binary, stdlib folder, libpython files) of the installation at `prefix`."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    binary = None
    for candidate in (prefix / "bin" / version, prefix / "bin" / "python3", Path(sys._base_executable)):  # type: ignore[attr-defined]
        if candidate.exists():
            binary = candidate.resolve()
            break
    if binary is None:
        raise SandboxUnavailable(f"Cannot find the interpreter binary under {prefix}.")
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": str(prefix), "base": str(prefix)})["stdlib"])
    if not (stdlib / "os.py").exists():
        stdlib = prefix / "lib" / version
    libs = sorted((prefix / "lib").glob(f"libpython{sys.version_info.major}*.so*"))
    return binary, stdlib, libs


def build_rootfs(prefix: str | None = None) -> tuple[_Rootfs, RootfsInfo]:
    """Lay out the image's file system (in memory; file contents are read when the tar is written)."""
    base = Path(prefix or sys.base_prefix).resolve()
    binary, stdlib, libpython = _python_layout(base)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    root, info = _Rootfs(), RootfsInfo()
    target_stdlib = f"/usr/local/lib/{version}"

    # The interpreter, its stdlib and libpython, moved from `base` to /usr/local.
    root.file(f"/usr/local/bin/{version}", source=str(binary), mode=0o755, strip=True)
    root.symlink("/usr/local/bin/python3", version)
    root.symlink("/usr/local/bin/python", "python3")
    for lib in libpython:
        if lib.is_symlink():
            root.symlink(f"/usr/local/lib/{lib.name}", os.readlink(lib))
        else:
            root.file(f"/usr/local/lib/{lib.name}", source=str(lib), mode=0o755, strip=True)
            # /usr/lib is on every glibc loader's default path; the binary's RUNPATH points at the host prefix.
            root.symlink(f"/usr/lib/{lib.name}", f"../local/lib/{lib.name}")
    # The standard library: extension modules as files in lib-dynload, everything else in one zip
    # (`python3XY.zip` is on the interpreter's default sys.path). Few files matter: docker's vfs
    # storage driver copies the image for every container at ~2 ms per file, so 1,400 loose files
    # cost ~3 s per container start, one zip ~0.1 s.
    extensions: list[str] = []
    archive = _StdlibZip(f"/usr/local/lib/python{sys.version_info.major}{sys.version_info.minor}.zip")
    for folder, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and d != "__pycache__" and not d.startswith(SKIP_DIR_PREFIXES))
        rel = os.path.relpath(folder, stdlib)
        in_dynload = rel == "lib-dynload" or rel.startswith("lib-dynload" + os.sep)
        for name in sorted(files):
            src = os.path.join(folder, name)
            rel_name = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(src) or name.endswith((".pyc", ".pyo", ".exe")):
                continue
            if name.endswith(".so") or in_dynload:
                if SKIP_EXTENSIONS.match(name):
                    continue
                extensions.append(src)
                root.file(os.path.join(target_stdlib, rel_name), source=src, strip=True)
            elif name.endswith(".py"):
                archive.add_module(src, rel_name)
            else:
                archive.add_data(src, rel_name)
    # The prefix landmark the interpreter looks for next to its binary (the module itself comes from the zip).
    root.file(os.path.join(target_stdlib, "os.py"), source=str(stdlib / "os.py"), mode=0o644)
    root.dir(os.path.join(target_stdlib, "lib-dynload"))
    root.file(archive.path, data=archive.finish(), mode=0o644)
    info.modules = archive.modules

    # Every shared library they link to, at its host path (symlinked folders such as /lib -> usr/lib kept).
    libpython_real = {os.path.realpath(p) for p in libpython}
    libs = _shared_libraries([str(binary), *[str(p) for p in libpython if not p.is_symlink()], *extensions])
    for name, path in sorted(libs.items()):
        real = os.path.realpath(path)
        if real in libpython_real:
            continue  # already under /usr/local/lib
        root.host(path, strip=False)
        info.libraries.append(path)
        if not path.startswith(("/lib", "/usr/lib")):
            root.symlink(f"/usr/lib/{name}", real)

    # Users, folders, the worker.
    root.file("/etc/passwd", data=(b"root:x:0:0:root:/root:/sbin/nologin\n"
                                    b"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
                                    b"sandbox:x:%d:%d:sandbox job:/work:/sbin/nologin\n" % (DEFAULT_JOB_UID, DEFAULT_JOB_UID)))
    root.file("/etc/group", data=b"root:x:0:\nnogroup:x:65534:\nsandbox:x:%d:\n" % DEFAULT_JOB_UID)
    for folder, mode in (("/tmp", 0o1777), ("/work", 0o711), ("/root", 0o700), ("/proc", 0o555), ("/sys", 0o555),
                         ("/dev", 0o755), ("/var/tmp", 0o1777), ("/usr/bin", 0o755), ("/bin", 0o755)):
        if folder not in root.entries:
            root.dir(folder, mode)
    root.file(WORKER_IN_IMAGE, source=str(WORKER_SOURCE), mode=0o644)
    info.python = f"{sys.version.split()[0]} from {base}"
    return root, info


class _StdlibZip:
    """The standard library as one zip: sources (for tracebacks) plus unchecked-hash .pyc files.

    Unchecked-hash pycs are used without looking at file times, so every entry gets one fixed
    time; code objects carry their path inside the image. A valid cached .pyc of the host is
    reused (its code re-labelled), else the source is compiled. The zip is written by a fresh
    interpreter with a fixed hash seed (`_ZIP_CHILD`): marshal's output depends on set order and
    on reference counts, i.e. on the state of the process, and must not depend on the caller's.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: list[tuple[str, str, str]] = []
        self.modules = 0

    def add_data(self, source: str, name: str) -> None:
        self.entries.append(("data", source, name.replace(os.sep, "/")))

    def add_module(self, source: str, name: str) -> None:
        self.entries.append(("module", source, name.replace(os.sep, "/")))
        self.modules += 1

    def finish(self) -> bytes:
        request = json.dumps({"zip_path": self.path, "entries": self.entries}).encode()
        env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "LC_ALL": "C.UTF-8"}
        done = subprocess.run([sys.executable, "-S", "-c", _ZIP_CHILD], input=request, capture_output=True, env=env)
        if done.returncode != 0:
            raise SandboxUnavailable("Packing the standard library for the sandbox image failed: "
                                     + (done.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1])
        return done.stdout


_ZIP_CHILD = r"""
import importlib.util, io, json, marshal, os, sys, types, zipfile

def pyc_is_valid(pyc, st):
    try:
        with open(pyc, "rb") as f:
            header = f.read(16)
    except OSError:
        return False
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(header[4:8], "little")
    if flags != 0:
        return flags & 1 == 1
    return (int.from_bytes(header[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == st.st_size & 0xFFFFFFFF)

def cached_code(source):
    try:
        pyc = importlib.util.cache_from_source(source)
        if not pyc_is_valid(pyc, os.stat(source)):
            return None
        with open(pyc, "rb") as f:
            return marshal.loads(f.read()[16:])
    except (OSError, ValueError, EOFError, TypeError, NotImplementedError):
        return None

def relabel(code, filename):
    consts = tuple(relabel(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)

request = json.loads(sys.stdin.buffer.read())
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w") as archive:
    def put(name, data):
        entry = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.create_system = 3
        entry.external_attr = 0o644 << 16
        archive.writestr(entry, data, compresslevel=6)
    for kind, source, name in request["entries"]:
        with open(source, "rb") as f:
            data = f.read()
        put(name, data)
        if kind == "module":
            filename = request["zip_path"] + "/" + name
            code = cached_code(source)
            code = compile(data, filename, "exec", dont_inherit=True) if code is None else relabel(code, filename)
            header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + importlib.util.source_hash(data)
            put(name[:-3] + ".pyc", header + marshal.dumps(code))
sys.stdout.buffer.write(buffer.getvalue())
"""


def write_rootfs(fileobj: Any, prefix: str | None = None) -> RootfsInfo:
    """Write the image's root file system as a tar to `fileobj`; return what went in."""
    root, info = build_rootfs(prefix)
    with tempfile.TemporaryDirectory(prefix="rerest-rootfs-") as workdir:
        written = root.write(fileobj, workdir)
    written.libraries, written.python, written.modules = info.libraries, info.python, info.modules
    return written


# ----------------------------------------------------------------------------------------------
# Docker side
# ----------------------------------------------------------------------------------------------
@dataclass
class BuildInfo:
    """Result of `build_image`."""

    tag: str
    image_id: str
    built: bool  # False: an up-to-date image was already there
    seconds: float = 0.0
    size_bytes: int = 0
    rootfs: RootfsInfo | None = None


def image_state(client: Any, tag: str = DEFAULT_TAG) -> tuple[str, Any]:
    """('missing' | 'outdated' | 'current', image or None) of the image `tag`."""
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return "missing", None
    labels = image.labels or {}
    wanted = expected_labels()
    current = all(labels.get(k) == v for k, v in wanted.items() if k != LABEL_RECIPE)
    # An image built from the Dockerfile has no recipe label; one from this module must have the current recipe.
    if LABEL_RECIPE in labels and labels[LABEL_RECIPE] != RECIPE:
        current = False
    return ("current" if current else "outdated"), image


def build_image(client: Any = None, tag: str = DEFAULT_TAG, *, force: bool = False,
                log: Callable[[str], None] | None = None) -> BuildInfo:
    """Build (offline) and tag the sandbox image unless a current one exists (`force`: always)."""
    from sandboxes.docker.daemon import connect

    client = client or connect()
    say = log or (lambda message: None)
    state, image = image_state(client, tag)
    if state == "current" and not force:
        say(f"{tag} is up to date ({image.short_id}); nothing to build")
        return BuildInfo(tag, image.id, False, 0.0, int(image.attrs.get("Size", 0)))
    old_id = image.id if image is not None else None
    start = time.monotonic()
    repository, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    labels = {**expected_labels(), LABEL_PYTHON: sys.version.split()[0]}
    changes = [
        "CMD " + json.dumps(CMD),
        "WORKDIR /work",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV LANG=C.UTF-8",
        "LABEL " + " ".join(f"{k}={v}" for k, v in sorted(labels.items())),
    ]
    with tempfile.TemporaryFile(prefix="rerest-rootfs-", suffix=".tar") as tar:
        rootfs = write_rootfs(tar)
        tar.flush()
        tar.seek(0)
        say(f"rootfs: {rootfs.files} files, {rootfs.bytes / 2**20:.1f} MiB, Python {rootfs.python}")
        answer = client.api.import_image(src=tar, repository=repository, tag=version, changes=changes)
    image_id = _imported_id(answer)
    image = client.images.get(image_id)
    if old_id and old_id != image.id:
        try:
            client.images.remove(old_id, noprune=False)
        except Exception:  # still used by a container: docker keeps it until then
            pass
    seconds = time.monotonic() - start
    size = int(image.attrs.get("Size", 0))
    say(f"built {tag} ({image.short_id}, {size / 2**20:.1f} MiB) in {seconds:.1f} s")
    return BuildInfo(tag, image.id, True, seconds, size, rootfs)


def _imported_id(answer: Any) -> str:
    """The image id from the import endpoint's JSON-lines answer."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    for line in reversed(text.strip().splitlines()):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "error" in message:
            raise SandboxUnavailable(f"docker import of the sandbox image failed: {message['error']}")
        status = str(message.get("status", ""))
        if status.startswith("sha256:"):
            return status
    raise SandboxUnavailable(f"docker import of the sandbox image gave no image id: {text[:200]}")


def build_from_dockerfile(client: Any = None, tag: str = DEFAULT_TAG, *, log: Callable[[str], None] | None = None) -> BuildInfo:
    """`docker build` with the Dockerfile (needs the `python:3.11-slim` base image or a registry)."""
    from sandboxes.docker.daemon import connect

    client = client or connect()
    start = time.monotonic()
    image, lines = client.images.build(path=str(WORKER_SOURCE.parent), dockerfile=str(DOCKERFILE.relative_to(WORKER_SOURCE.parent)),
                                       tag=tag, buildargs={"WORKER_SHA256": worker_sha256()}, rm=True)
    for line in lines:
        if log and line.get("stream", "").strip():
            log(line["stream"].rstrip())
    return BuildInfo(tag, image.id, True, time.monotonic() - start, int(image.attrs.get("Size", 0)))


def ensure_image(client: Any, tag: str = DEFAULT_TAG, *, build_if_missing: bool = True,
                 log: Callable[[str], None] | None = None) -> Any:
    """Return the current image `tag`, building it when missing or outdated (if allowed)."""
    state, image = image_state(client, tag)
    if state == "current":
        return image
    if not build_if_missing:
        why = "is not there" if state == "missing" else "was built from an older sandboxes/worker.py"
        raise SandboxUnavailable(f"The docker sandbox image {tag} {why}: build it with `python -m sandboxes.docker.image build"
                                 f"{'' if tag == DEFAULT_TAG else ' --tag ' + tag}` or pass build_if_missing=True.")
    build_image(client, tag, force=True, log=log)
    return client.images.get(tag)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.docker.image", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the sandbox image (offline, from this interpreter) unless it is current")
    build.add_argument("--tag", default=DEFAULT_TAG)
    build.add_argument("--force", action="store_true", help="rebuild even when the image is current")
    build.add_argument("--dockerfile", action="store_true", help="docker build the Dockerfile instead (needs python:3.11-slim)")
    check = sub.add_parser("check", help="exit 0 when the image is current, 1 when missing or outdated")
    check.add_argument("--tag", default=DEFAULT_TAG)
    rootfs = sub.add_parser("rootfs", help="only write the root file system tar (no daemon needed)")
    rootfs.add_argument("output")
    sub.add_parser("sha", help="print the sha256 of worker.py (the Dockerfile's WORKER_SHA256 build argument)")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        if args.command == "sha":
            print(worker_sha256())
        elif args.command == "rootfs":
            start = time.monotonic()
            with open(args.output, "wb") as f:
                info = write_rootfs(f)
            say(f"wrote {args.output}: {info.files} files, {info.bytes / 2**20:.1f} MiB in {time.monotonic() - start:.1f} s")
        elif args.command == "check":
            from sandboxes.docker.daemon import connect

            state, image = image_state(connect(), args.tag)
            print(f"{args.tag}: {state}" + (f" ({image.short_id})" if image is not None else ""))
            return 0 if state == "current" else 1
        elif args.dockerfile:
            info = build_from_dockerfile(tag=args.tag, log=say)
            say(f"built {info.tag} ({info.image_id[:19]}) in {info.seconds:.1f} s")
        else:
            build_image(tag=args.tag, force=args.force, log=say)
    except Exception as exc:  # one line, not a traceback, for the CLI
        say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
