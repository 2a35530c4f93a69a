# pagewire: one image for every role. `docker run IMAGE serve|worker|dispatch|migrate`.
#
# Built by `make image` (scripts/image-build.sh), which first collects the Python wheels
# on the host into build/image/wheels: the build itself needs no package index, only the
# base image's Debian mirror for tesseract. See docs/deploy.md.
#
# BASE_IMAGE: a Debian bookworm image with python3 and its venv module. The wheels are
# collected for that image's Python, so the two always match.
ARG BASE_IMAGE=python:3.12-slim-bookworm

# --- build: a virtual environment from the wheels, nothing fetched -------------------
FROM ${BASE_IMAGE} AS build
COPY build/image/wheels/ /wheels/
# pip writes the bytecode as it installs: with PYTHONDONTWRITEBYTECODE (set below) every
# process, and each job's extractor child, would otherwise compile its imports at start.
RUN python3 -m venv /opt/pagewire \
    && /opt/pagewire/bin/pip install --no-cache-dir --no-index --find-links /wheels \
        --disable-pip-version-check "pagewire[server]" \
    && /opt/pagewire/bin/pip uninstall --yes --quiet pip \
    && /opt/pagewire/bin/pagewire --version

# --- runtime: the base, tesseract, a word list, the environment, a user -------------
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng wamerican \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pagewire \
    && useradd --system --uid 10001 --gid pagewire --home-dir /var/lib/pagewire \
        --shell /usr/sbin/nologin pagewire \
    && install --directory --owner pagewire --group pagewire --mode 0700 /var/lib/pagewire

COPY --from=build /opt/pagewire /opt/pagewire
COPY scripts/image-healthcheck.py /opt/pagewire/healthcheck.py

# Every setting is a PAGEWIRE_* variable (docs/operations.md); these are the image's own
# defaults: listen on every interface, keep data (SQLite, blobs, keys) in the volume.
ENV PATH=/opt/pagewire/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAGEWIRE_DATA_DIR=/var/lib/pagewire \
    PAGEWIRE_HOST=0.0.0.0 \
    PAGEWIRE_PORT=8000

USER 10001:10001
WORKDIR /var/lib/pagewire
VOLUME ["/var/lib/pagewire"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["/opt/pagewire/bin/python", "/opt/pagewire/healthcheck.py"]

ENTRYPOINT ["pagewire"]
CMD ["serve"]
