"""The `docker` sandbox backend: warm containers with no network, a read-only root and cgroup limits.

    from sandboxes import make_sandbox
    with make_sandbox("docker") as sandbox:         # builds the image offline on first use
        print(sandbox.run("print(1)").stdout)

Needs the docker SDK (`pip install "rerest[docker]"`) and a running daemon (`sudo bash
dev/dockerd.sh start` starts one and builds the image). `docker_available()` tells cheaply whether
both are there; `cleanup_containers()` removes containers left by processes that died;
`python -m sandboxes.docker.image build` (re)builds the image.

Importing this package does not import the docker SDK; `DockerSandbox` is loaded on first access.
"""

from __future__ import annotations

from typing import Any

from sandboxes.docker.daemon import cleanup_containers, connect, docker_available

__all__ = ["DEFAULT_TAG", "DockerSandbox", "build_image", "cleanup_containers", "connect", "docker_available"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m sandboxes.docker.image` does not import its own module twice.
    if name == "DockerSandbox":
        from sandboxes.docker.backend import DockerSandbox

        return DockerSandbox
    if name in ("DEFAULT_TAG", "build_image"):
        from sandboxes.docker import image

        return getattr(image, name)
    raise AttributeError(f"module 'sandboxes.docker' has no attribute {name!r}")
