# The gateway image: every `hotline` process of a deployment runs from it
# (serve, worker, relay, agi, spool ingest, migrate, prompts build); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# espeak-ng (with its Mandarin voice) and sox build the placeholder IVR prompts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so that the folders shared with the Asterisk container (prompts,
# recordings, spool: group-writable, setgid) can be opened to Asterisk by group 10096.
ARG HOTLINE_UID=10096
RUN groupadd --gid "${HOTLINE_UID}" hotline \
 && useradd --uid "${HOTLINE_UID}" --gid hotline --home-dir /var/lib/hotline \
        --shell /usr/sbin/nologin --no-create-home hotline \
 && install -d -o hotline -g hotline -m 0750 /var/lib/hotline \
 && install -d -o hotline -g hotline -m 2775 /var/lib/hotline-96010 \
        /var/lib/hotline-96010/prompts /var/lib/hotline-96010/recordings \
        /var/lib/hotline-96010/spool

WORKDIR /opt/hotline
# Every Python package from the committed lock, byte for byte (hashes), before the sources so
# that this layer is cached until the lock changes; then the project itself without resolving
# anything (its build backend is pinned in the lock too).
COPY requirements.lock ./
RUN pip install --no-compile --no-deps --require-hashes -r requirements.lock
# The build context is the repository minus what .dockerignore leaves out: pyproject.toml,
# README, the lock and the Python packages (router, channels, ivr, transcription, console, hotline).
COPY . .
RUN pip install --no-compile --no-deps --no-build-isolation . \
 && rm -rf /opt/hotline/build

# Inside a container the processes listen on every interface of the container; docker-compose
# publishes them on the host's loopback only. Secrets come from the env file, never from here.
ENV HOTLINE_ENV=production \
    HOTLINE_DATA_DIR=/var/lib/hotline \
    HOTLINE_HTTP_HOST=0.0.0.0 \
    HOTLINE_AGI_HOST=0.0.0.0 \
    HOTLINE_PROMPTS_DIR=/var/lib/hotline-96010/prompts \
    HOTLINE_RECORDINGS_DIR=/var/lib/hotline-96010/recordings \
    HOTLINE_SPOOL_DIR=/var/lib/hotline-96010/spool

USER hotline
WORKDIR /var/lib/hotline
EXPOSE 8096 4573 4574
ENTRYPOINT ["hotline"]
CMD ["serve"]
