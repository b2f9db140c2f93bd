FROM python:3.11-slim AS build
# Build stage: install didtrust and its dependencies into a virtualenv that the
# runtime stage copies whole. The source tree, pip's build backend and caches
# stay behind. The build context is the repository filtered by .dockerignore,
# so new top-level packages (registry/, verifier/) arrive without editing this
# file; which of them are installed is decided by pyproject.toml alone.

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/didtrust

# Dependencies first, from pyproject.toml alone, so a source change does not
# download them again (the layer is rebuilt only when pyproject.toml changes).
COPY pyproject.toml /src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/didtrust/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# Then the project itself. The import check fails the build, not the first
# request, if the wheel misses a package that the composition root imports.
COPY . /src
RUN /opt/didtrust/bin/pip install --no-cache-dir --no-deps /src \
    && /opt/didtrust/bin/pip check \
    && /opt/didtrust/bin/python -c "import didtrust.app" \
    && /opt/didtrust/bin/didtrust --version


FROM python:3.11-slim

LABEL org.opencontainers.image.title="didtrust" \
      org.opencontainers.image.description="DID resolver and signed, provable registry of accredited credential issuers" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"

# A fixed uid/gid so volume ownership is predictable across rebuilds and hosts.
ARG DIDTRUST_UID=10001
# --no-log-init: a high uid would otherwise grow a sparse /var/log/lastlog.
RUN groupadd --gid "${DIDTRUST_UID}" didtrust \
    && useradd --uid "${DIDTRUST_UID}" --gid didtrust --no-log-init \
       --home-dir /var/lib/didtrust --no-create-home --shell /usr/sbin/nologin didtrust \
    && install -d -o didtrust -g didtrust -m 0750 /var/lib/didtrust

COPY --from=build /opt/didtrust /opt/didtrust

# DIDTRUST_HOST is a variable, not a flag, so `-e DIDTRUST_HOST=...` can
# still override it; the settings default (127.0.0.1) is unreachable from
# outside a container.
ENV PATH=/opt/didtrust/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DIDTRUST_HOST=0.0.0.0 \
    DIDTRUST_DATA_DIR=/var/lib/didtrust

WORKDIR /var/lib/didtrust
# Declared after the chown above so a fresh named volume inherits the owner.
VOLUME ["/var/lib/didtrust"]
# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER ${DIDTRUST_UID}:${DIDTRUST_UID}
EXPOSE 8080

# Container platforms set PORT; the CLI reads DIDTRUST_PORT. PORT wins, then
# DIDTRUST_PORT, then 8080. The `sh -c ... exec` keeps didtrust as PID 1 so it
# receives SIGTERM itself, and `docker run IMAGE resolve did:key:...` works
# because the command is only the subcommand.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; port = os.environ.get('PORT') or os.environ.get('DIDTRUST_PORT') or '8080'; urllib.request.urlopen('http://127.0.0.1:%s/health' % port, timeout=4)"
ENTRYPOINT ["sh", "-c", "export DIDTRUST_PORT=\"${PORT:-${DIDTRUST_PORT:-8080}}\"; exec didtrust \"$@\"", "didtrust"]
CMD ["serve"]
