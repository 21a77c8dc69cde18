#!/usr/bin/env bash
# The Jobmon interop tier: our swarm against the real Jobmon 3.4 server and distributors, and
# the real Jobmon swarm against our server (tests/interop, marker "interop").
#
#   .ci/interop.sh test [PYTEST ARGS...]
#       1. build, or find cached, the reference virtual environment of the pinned Jobmon
#          packages from PyPI (python tests/interop/jobmon_ref.py install; cached in
#          $JOBMON_REF_VENV, else ${XDG_CACHE_HOME:-~/.cache}/actorswarm/jobmon-reference);
#       2. run python -m pytest -m interop tests/interop (extra arguments are passed on).
#   .ci/interop.sh install      only step 1
#
# Exit status: pytest's. When the reference environment cannot be built (no network, no
# PyPI, a package that does not install here) the tier is SKIPPED: a message saying why on
# stderr, exit 0. Uses $PYTHON, else the python on PATH (.ci/run's fresh venv).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
log() { echo "interop.sh: $*" >&2; }

started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

install() {
    local out
    if ! out=$("$PY" tests/interop/jobmon_ref.py install 2>&1); then
        log "SKIPPED: the Jobmon reference environment cannot be built here:"
        printf '%s\n' "$out" | tail -n 25 >&2
        return 1
    fi
    printf '%s\n' "$out" | tail -n 1
    log "reference environment ready ($(elapsed))"
}

case "${1:-}" in
    install)
        install || exit 0
        ;;
    test)
        shift
        install || exit 0
        "$PY" -m pytest -m interop tests/interop --durations=15 "$@"
        code=$?
        log "pytest -m interop tests/interop exited $code after $(elapsed)"
        exit "$code"
        ;;
    *)
        echo "usage: $0 test [PYTEST ARGS...] | install" >&2
        exit 2
        ;;
esac
