#!/usr/bin/env bash
# Start/stop a Docker daemon for the `docker` sandbox backend (CI and development machines).
#
#   bash dev/dockerd.sh start    # dockerd running + the sandbox image built (no-op if `docker info` works)
#   bash dev/dockerd.sh status   # says whether a daemon answers and whether this script started it
#   bash dev/dockerd.sh stop     # removes rerest containers; stops the daemon only if this script started it
#
# Environment:
#   RERST_DOCKER_STATE           state dir: data-root, exec-root, pidfile, log   (default /var/lib/rerest-dockerd)
#   RERST_DOCKER_STORAGE_DRIVER  storage driver (default vfs: works everywhere, even inside a container;
#                                it copies the whole image per container, so the sandbox image is kept small)
#   RERST_DOCKER_SOCKET          socket the daemon listens on (default /var/run/docker.sock; any other
#                                path is exported as DOCKER_HOST to the commands this script runs)
#   RERST_DOCKER_SKIP_IMAGE=1    do not build the sandbox image after start
#   PYTHON                       interpreter used to build the image (default .venv/bin/python, else python3)
#
# The daemon runs without iptables and without the default bridge: sandbox containers use
# network_mode=none, so they need neither. It listens on unix:///var/run/docker.sock, where the
# docker CLI and the docker SDK look by default.
set -euo pipefail

STATE="${RERST_DOCKER_STATE:-/var/lib/rerest-dockerd}"
DRIVER="${RERST_DOCKER_STORAGE_DRIVER:-vfs}"
SOCK="${RERST_DOCKER_SOCKET:-/var/run/docker.sock}"
if [[ "$SOCK" != "/var/run/docker.sock" ]]; then
    export DOCKER_HOST="unix://$SOCK"
fi
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$REPO/.venv/bin/python" ]]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON="python3"; fi
fi

say() { echo "dockerd.sh: $*" >&2; }

daemon_answers() { docker info >/dev/null 2>&1; }

our_pid() {
    # Pid of a dockerd this script started and that is still alive, else nothing.
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

build_image() {
    if [[ "${RERST_DOCKER_SKIP_IMAGE:-0}" == "1" ]]; then
        return 0
    fi
    say "building the sandbox image with $PYTHON"
    (cd "$REPO" && "$PYTHON" -m sandboxes.docker.image build)
}

cmd_start() {
    if daemon_answers; then
        say "a Docker daemon already answers (docker info works); not starting another"
        build_image
        return 0
    fi
    if [[ "$(id -u)" != "0" ]]; then
        say "no Docker daemon answers and starting one needs root: run 'sudo bash dev/dockerd.sh start'," \
            "start your system's docker service, or set DOCKER_HOST to a daemon you can reach"
        return 1
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        say "dockerd is not installed: installing docker.io with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    if ! command -v docker >/dev/null 2>&1; then
        say "the docker CLI is missing (install docker.io or docker-ce-cli)"
        return 1
    fi
    mkdir -p "$STATE/data" "$STATE/exec"
    if [[ -S "$SOCK" ]] && ! our_pid >/dev/null; then
        # A socket nobody answers on (a daemon that died): dockerd refuses to start over it.
        rm -f "$SOCK"
    fi
    say "starting dockerd (storage driver $DRIVER, state in $STATE, log in $LOG)"
    # setsid: the daemon must not die with this shell (CI steps run in their own sessions).
    setsid dockerd \
        --iptables=false --ip-masq=false --bridge=none \
        --storage-driver="$DRIVER" \
        --data-root "$STATE/data" --exec-root "$STATE/exec" \
        --pidfile "$PIDFILE" \
        -H "unix://$SOCK" \
        >"$LOG" 2>&1 </dev/null &
    local deadline=$((SECONDS + 60))
    until daemon_answers; do
        if (( SECONDS >= deadline )) || ! kill -0 $! 2>/dev/null; then
            say "dockerd did not come up within 60 s; last lines of $LOG:"
            tail -n 30 "$LOG" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    say "dockerd is up (pid $(cat "$PIDFILE"))"
    build_image
}

cmd_stop() {
    if daemon_answers; then
        local ids
        ids="$(docker ps -aq --filter label=rerest.sandbox 2>/dev/null || true)"
        if [[ -n "$ids" ]]; then
            say "removing $(echo "$ids" | wc -l) rerest sandbox container(s)"
            # shellcheck disable=SC2086
            docker rm -f $ids >/dev/null 2>&1 || true
        fi
    fi
    local pid
    if ! pid="$(our_pid)"; then
        say "no dockerd started by this script is running (pidfile $PIDFILE); leaving any other daemon alone"
        return 0
    fi
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            say "dockerd did not exit within 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$PIDFILE"
    say "dockerd stopped"
}

cmd_status() {
    local pid
    if daemon_answers; then
        echo "docker: a daemon answers ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}' 2>/dev/null))"
    else
        echo "docker: no daemon answers"
    fi
    if pid="$(our_pid)"; then
        echo "docker: started by dev/dockerd.sh (pid $pid, state $STATE)"
    fi
    daemon_answers
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: bash dev/dockerd.sh start|stop|status" >&2; exit 2 ;;
esac
