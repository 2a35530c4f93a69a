#!/usr/bin/env bash
# `make image`: build the container image.
#
# Python packages go in from wheels collected here, on the host, into the build context
# (build/image/wheels): a build does not need a package index, only the base image's
# Debian mirror (for tesseract). The wheels must suit the base's Python and libc, so the
# Python version is asked of the base image itself (IMAGE_PYTHON skips the question).
#
#   scripts/image-build.sh [TAG]          default TAG: pagewire:latest
#   BASE_IMAGE=...   a Debian bookworm image with python3 + venv (default python:3.12-slim-bookworm)
#   IMAGE_PYTHON=3.11  the base's Python, when the base cannot be run here
#   DOCKER_BUILD_ARGS="--network host"   extra `docker build` options
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${1:-${IMAGE_TAG:-pagewire:latest}}
BASE_IMAGE=${BASE_IMAGE:-python:3.12-slim-bookworm}
PY=.venv/bin/python
WHEELS=build/image/wheels

if [ -z "${IMAGE_PYTHON:-}" ]; then
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || docker pull "$BASE_IMAGE"
    IMAGE_PYTHON=$(docker run --rm --network none --entrypoint python3 "$BASE_IMAGE" \
        -c 'import platform; print(platform.python_version())')
fi
minor=$(echo "$IMAGE_PYTHON" | cut -d. -f1,2)
arch=$(uname -m)
echo "image: $TAG from $BASE_IMAGE (Python $IMAGE_PYTHON, $arch)"

rm -rf build/image
mkdir -p "$WHEELS"
# The server's dependencies for the base's Python, as close to requirements.lock as that
# Python allows: uv keeps the versions of an existing output file where it can (Debian
# bookworm's Python 3.11.2 is too old for some releases that the host's 3.11 takes).
# Debian bookworm has glibc 2.36: any manylinux wheel up to 2_36 runs there.
cp requirements.lock build/image/requirements.txt
.venv/bin/uv pip compile -q pyproject.toml --extra server --no-header --no-annotate \
    --python-version "$IMAGE_PYTHON" --python-platform "$arch-manylinux_2_36" \
    -o build/image/requirements.txt
platforms=(--platform "manylinux2014_$arch")
for glibc in $(seq 17 36); do platforms+=(--platform "manylinux_2_${glibc}_$arch"); done
"$PY" -m pip download -q --no-deps --only-binary=:all: --dest "$WHEELS" \
    --python-version "$IMAGE_PYTHON" --implementation cp --abi "cp${minor/./}" "${platforms[@]}" \
    --requirement build/image/requirements.txt 2> >(grep -v '^WARNING: Location' >&2)
# The project's own wheel (pure Python).
"$PY" -m pip wheel -q --no-deps --wheel-dir "$WHEELS" . 2> >(grep -v '^WARNING: Location' >&2)
echo "wheels: $(ls "$WHEELS" | wc -l) in $WHEELS ($(du -sh "$WHEELS" | cut -f1))"

# shellcheck disable=SC2086  # DOCKER_BUILD_ARGS is a list of options
docker build ${DOCKER_BUILD_ARGS:-} --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$TAG" .
docker image ls "$TAG"
