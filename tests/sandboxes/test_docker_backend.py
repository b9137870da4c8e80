"""Docker-specific tests of the `docker` sandbox backend, against a real dockerd.

Skipped when no daemon answers (start one with `sudo bash dev/dockerd.sh start`); with
RERST_REQUIRE_DOCKER=1 (CI) they fail instead. The hostile-program suite (test_hostile.py) runs on
this backend too; here are the container-level guarantees: image build, no network, read-only root,
pids and memory cgroup limits, warm reuse, cleanup, and recovery from a killed container.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sandboxes import SandboxUnavailable, make_sandbox
from sandboxes.docker import docker_available
from sandboxes.docker.daemon import LABEL, LABEL_SANDBOX_ID, cleanup_containers
from sandboxes.docker.image import DEFAULT_TAG

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    """A docker client; skip without a daemon, or fail when RERST_REQUIRE_DOCKER=1."""
    if not docker_available():
        if os.environ.get("RERST_REQUIRE_DOCKER") == "1":
            pytest.fail("RERST_REQUIRE_DOCKER=1 but no Docker daemon answers: run `sudo bash dev/dockerd.sh start` "
                        "(or set DOCKER_HOST).")
        pytest.skip("no Docker daemon answers (start one with `sudo bash dev/dockerd.sh start`)")
    from sandboxes.docker.daemon import connect

    docker_client = connect()
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="module")
def box(client):
    """`make_sandbox("docker")` with no arguments, warm, shared by the module's tests."""
    sandbox = make_sandbox("docker")
    sandbox.warm_up()
    yield sandbox
    sandbox.close()


def _run(sandbox, program: str, **limits):
    return sandbox.run(textwrap.dedent(program), **limits)


def _ours(client, sandbox_id: str) -> list:
    return client.containers.list(all=True, filters={"label": [f"{LABEL_SANDBOX_ID}={sandbox_id}"]}, ignore_removed=True)


def _job_processes() -> list[int]:
    """Host pids running under one of this process's docker job uids (containers share the host kernel)."""
    from sandboxes.docker.backend import job_uids

    uids, found = job_uids(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        state = next(line for line in status.splitlines() if line.startswith("State:")).split()[1]
        if uid in uids and state != "Z":
            found.append(int(name))
    return found


def _host_address() -> str | None:
    """A non-loopback address of this machine (None when it has none)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


# ------------------------------------------------------------------------------------------------
# image
# ------------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_image_build_is_idempotent_and_labelled(client):
    from sandboxes.docker.image import LABEL_RECIPE, LABEL_WORKER, RECIPE, build_image, image_state, worker_sha256

    build_image(client)  # builds only if missing or outdated
    again = build_image(client)
    assert not again.built and again.image_id == client.images.get(DEFAULT_TAG).id
    image = client.images.get(DEFAULT_TAG)
    assert image.labels[LABEL_WORKER] == worker_sha256()
    assert image.labels[LABEL_RECIPE] == RECIPE
    assert image.labels["rerest.sandbox_image"] == "1"
    assert image_state(client)[0] == "current"
    assert image.attrs["Config"]["WorkingDir"] == "/work"
    assert image.attrs["Config"]["Cmd"][:4] == ["python3", "-I", "-S", "/opt/rerest/worker.py"]
    assert image.attrs["Size"] < 80 * 2**20, f"image is {image.attrs['Size'] / 2**20:.0f} MiB"


@pytest.mark.docker
def test_image_build_is_reproducible(client):
    from sandboxes.docker.image import build_image, write_rootfs

    # Same inputs -> byte-identical root file system (in this process or another) -> the same layer.
    buffer = io.BytesIO()
    write_rootfs(buffer)
    expected = ["sha256:" + hashlib.sha256(buffer.getvalue()).hexdigest()]
    tag = "rerest-sandbox:test-rebuild"
    try:
        info = build_image(client, tag, force=True)
        assert info.built and info.seconds < 60
        assert client.images.get(tag).attrs["RootFS"]["Layers"] == expected
    finally:
        try:
            client.images.remove(tag)
        except Exception:
            pass


@pytest.mark.docker
@pytest.mark.slow
def test_dockerfile_gives_an_image_the_backend_accepts(client):
    """The Dockerfile route (for users with a registry). Offline, this image stands in for python:3.11-slim."""
    import docker

    from sandboxes.docker.image import build_from_dockerfile, image_state

    base, tag, stand_in = "python:3.11-slim", "rerest-sandbox:test-dockerfile", False
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        client.images.get(DEFAULT_TAG).tag(base)
        stand_in = True
    try:
        build_from_dockerfile(client, tag)
        assert image_state(client, tag)[0] == "current"
        with make_sandbox("docker", workers=1, image=tag, build_if_missing=False) as sandbox:
            result = sandbox.run("import os, sys; print(sys.executable, os.getcwd().startswith('/work/job-'))")
        assert result.stdout.split()[1:] == ["True"], result
    finally:
        for name in [tag] + ([base] if stand_in else []):
            try:
                client.images.remove(name)
            except Exception:
                pass


@pytest.mark.docker
def test_outdated_image_is_detected(client, monkeypatch):
    from sandboxes.docker import image as image_module

    monkeypatch.setattr(image_module, "worker_sha256", lambda: "0" * 64)
    assert image_module.image_state(client)[0] == "outdated"
    with pytest.raises(SandboxUnavailable, match=r"older sandboxes/worker.py: build it with `python -m sandboxes.docker.image build`"):
        image_module.ensure_image(client, build_if_missing=False)


@pytest.mark.docker
def test_missing_image_without_build_says_how_to_build(client):
    with pytest.raises(SandboxUnavailable, match=r"rerest-sandbox:no-such-tag is not there: build it with"):
        make_sandbox("docker", image="rerest-sandbox:no-such-tag", build_if_missing=False)


@pytest.mark.docker
def test_image_has_a_working_standard_library(box):
    result = _run(box, """
        import sys, ssl, sqlite3, decimal, ctypes, hashlib, lzma, bz2, zlib, json, uuid, datetime, zoneinfo
        print(sys.version_info[:2] == (3, 11) or sys.version_info[:2], sys.prefix, sqlite3.connect(':memory:').execute('select 1+1').fetchone()[0])
        """)
    assert result.ok, result.stderr
    assert result.stdout.split()[1:] == ["/usr/local", "2"]


# ------------------------------------------------------------------------------------------------
# confinement
# ------------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_no_network_not_even_the_hosts_addresses(box):
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen(4)
    port = server.getsockname()[1]
    targets = ["127.0.0.1"] + [a for a in [_host_address()] if a]
    try:
        result = _run(box, f"""
            import socket
            print(sorted(name for _, name in socket.if_nameindex()))
            for host in {targets!r}:
                try:
                    socket.create_connection((host, {port}), timeout=2).close()
                    print(host, "REACHED")
                except OSError as exc:
                    print(host, "blocked", type(exc).__name__)
            try:
                socket.getaddrinfo("example.com", 80)
                print("dns REACHED")
            except OSError:
                print("dns blocked")
            """, timeout=20)
    finally:
        server.close()
    assert result.ok, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['lo']"
    assert "REACHED" not in result.stdout, result.stdout
    assert sum("blocked" in line for line in lines) == len(targets) + 1


@pytest.mark.docker
def test_root_file_system_is_read_only(box):
    result = _run(box, """
        import os
        for path in ("/x", "/usr/x", "/usr/local/lib/python3.11/os.py", "/etc/passwd", "/opt/rerest/worker.py", "/tmp/x", "/work/x"):
            try:
                with open(path, "a") as f:
                    f.write("x")
                print(path, "WRITABLE")
            except OSError as exc:
                print(path, "refused", exc.errno)
        with open("mine.txt", "w") as f:  # the job's own folder is writable
            f.write("ok")
        print("cwd", os.getcwd().startswith("/work/job-"), open("mine.txt").read())
        """)
    assert result.ok, result.stderr
    assert "WRITABLE" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 7
    assert result.stdout.strip().endswith("cwd True ok")


@pytest.mark.docker
def test_jobs_run_unprivileged_and_cannot_touch_the_worker(box):
    result = _run(box, """
        import os, signal
        status = open("/proc/self/status").read()
        cap_eff = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0]
        nnp = [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0]
        print(os.getuid(), os.getgid(), cap_eff, nnp)
        for pid in (1, os.getppid()):
            try:
                os.kill(pid, signal.SIGKILL)
                print("KILLED", pid)
            except PermissionError:
                print("refused", pid)
        """)
    assert result.ok, result.stderr
    uid, gid, cap_eff, nnp = result.stdout.splitlines()[0].split()
    assert int(uid) >= 100_000_000 and int(gid) == int(uid)
    assert int(cap_eff, 16) == 0 and nnp == "1"
    assert "KILLED" not in result.stdout
    assert box.run("print('worker alive')").stdout == "worker alive\n"


@pytest.mark.docker
def test_containers_have_the_configured_limits(client, box):
    from sandboxes.docker.backend import CAPABILITIES

    containers = _ours(client, box.sandbox_id)
    assert len(containers) == box.workers
    for container in containers:
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] == box.container_memory_mb * 2**20 == host["MemorySwap"]
        assert host["PidsLimit"] == box.pids_limit
        assert host["NanoCpus"] == int(box.cpus * 1e9)
        assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == sorted(CAPABILITIES)
        assert "no-new-privileges" in host["SecurityOpt"]
        assert container.labels[LABEL] == "1" and container.labels["rerest.owner_pid"] == str(os.getpid())


@pytest.mark.docker
def test_pids_limit_caps_processes_of_the_container(client):
    # A per-run process limit above the container's pids limit: the cgroup is what stops the forks.
    with make_sandbox("docker", workers=1, pids_limit=20) as sandbox:
        result = _run(sandbox, """
            import os, time
            children = []
            while len(children) < 200:
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                children.append(pid)
            print(len(children))
            """, timeout=20, max_processes=1000)
        assert result.exit_code == 0, result
        assert 5 <= int(result.stdout) < 20
        assert _job_processes() == []  # the sleeping children were all killed
        assert sandbox.run("print('next')").stdout == "next\n"


@pytest.mark.docker
def test_memory_limit_of_the_container_stops_a_run_that_asks_for_more(client):
    with make_sandbox("docker", workers=1, container_memory_mb=200) as sandbox:
        result = _run(sandbox, """
            block = bytearray(400 * 1024 * 1024)
            print("allocated", len(block))
            """, memory_mb=4096, timeout=30)
        assert not result.ok
        assert "allocated" not in result.stdout
        assert result.out_of_memory or result.error, result
        assert sandbox.run("print('after oom')").stdout == "after oom\n"


# ------------------------------------------------------------------------------------------------
# warm pool, cleanup, recovery
# ------------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_warm_pool_reuses_its_containers(client):
    with make_sandbox("docker", workers=2) as sandbox:
        start = time.monotonic()
        assert sandbox.run("print(1)").stdout == "1\n"
        first = time.monotonic() - start
        ids = {c.id for c in _ours(client, sandbox.sandbox_id)}
        sandbox.warm_up()
        ids = {c.id for c in _ours(client, sandbox.sandbox_id)}
        assert len(ids) == 2
        times = []
        for _ in range(10):
            start = time.monotonic()
            assert sandbox.run("print(1)").stdout == "1\n"
            times.append(time.monotonic() - start)
        results = sandbox.run_many([f"print({i} * {i})" for i in range(12)])
        assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(12)]
        warm = sorted(times)[len(times) // 2]
        assert warm < first / 5, (first, times)
        assert {c.id for c in _ours(client, sandbox.sandbox_id)} == ids  # no container was started per run


@pytest.mark.docker
def test_close_leaves_no_container(client):
    sandbox = make_sandbox("docker", workers=2)
    sandbox.warm_up()
    sandbox_id = sandbox.sandbox_id
    assert len(_ours(client, sandbox_id)) == 2
    sandbox.close()
    sandbox.close()  # twice is fine
    assert _ours(client, sandbox_id) == []


@pytest.mark.docker
def test_a_container_killed_mid_run_gives_an_error_and_is_replaced(client):
    with make_sandbox("docker", workers=1) as sandbox:
        sandbox.warm_up()
        (victim,) = _ours(client, sandbox.sandbox_id)
        outcome = {}
        runner = threading.Thread(target=lambda: outcome.setdefault("r", sandbox.run("import time\ntime.sleep(30)", timeout=60)))
        runner.start()
        time.sleep(1.0)
        victim.kill()
        runner.join(timeout=30)
        result = outcome["r"]
        assert result.error and "died" in result.error, result
        assert not result.ok and result.reason.startswith("sandbox error")
        assert sandbox.run("print('replaced')").stdout == "replaced\n"
        (replacement,) = _ours(client, sandbox.sandbox_id)
        assert replacement.id != victim.id


@pytest.mark.docker
def test_containers_go_away_when_their_host_process_dies(client):
    script = textwrap.dedent("""
        import os, signal, sys
        from sandboxes import make_sandbox
        box = make_sandbox("docker", workers=2)
        box.warm_up()
        print(box.sandbox_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    sandbox_id = done.stdout.strip()
    deadline = time.monotonic() + 20
    while _ours(client, sandbox_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ours(client, sandbox_id) == []


@pytest.mark.docker
def test_cleanup_containers_removes_only_leftovers(client, box):
    from sandboxes.docker.image import DEFAULT_TAG as tag

    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = client.containers.create(tag, labels={LABEL: "1", "rerest.owner_host": socket.gethostname(),
                                                     "rerest.owner_pid": str(dead.pid), "rerest.owner_start": "1",
                                                     LABEL_SANDBOX_ID: "leftover"})
    try:
        alive_before = {c.id for c in _ours(client, box.sandbox_id)}
        assert cleanup_containers(client) >= 1
        assert _ours(client, "leftover") == []
        assert {c.id for c in _ours(client, box.sandbox_id)} == alive_before
    finally:
        try:
            leftover.remove(force=True)
        except Exception:
            pass


# ------------------------------------------------------------------------------------------------
# without a daemon / without the SDK (no docker needed)
# ------------------------------------------------------------------------------------------------
def test_unreachable_daemon_is_one_clear_line(monkeypatch, tmp_path):
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    start = time.monotonic()
    assert docker_available() is False
    assert time.monotonic() - start < 5
    with pytest.raises(SandboxUnavailable) as caught:
        make_sandbox("docker")
    message = str(caught.value)
    assert "\n" not in message
    assert "dockerd" in message and "DOCKER_HOST" in message


def test_missing_sdk_names_the_pip_line(monkeypatch):
    from sandboxes import DependencyNotInstalled
    from sandboxes.docker.daemon import connect

    monkeypatch.setitem(sys.modules, "docker", None)  # import docker -> ImportError
    with pytest.raises(DependencyNotInstalled, match=r'pip install "rerest\[docker\]"'):
        connect()
    assert docker_available() is False


def test_dockerd_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(REPO / "dev" / "dockerd.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    usage = subprocess.run(["bash", str(REPO / "dev" / "dockerd.sh")], capture_output=True, text=True)
    assert usage.returncode == 2 and "start|stop|status" in usage.stderr


@pytest.mark.docker
def test_dockerd_script_status_sees_the_daemon(client):
    done = subprocess.run(["bash", str(REPO / "dev" / "dockerd.sh"), "status"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "a daemon answers" in done.stdout, done.stdout + done.stderr
