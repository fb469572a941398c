# syntax=docker/dockerfile:1
# The reviewer as a container image. The build stage runs scripts/release,
# the same script that makes the downloadable binary, so both are the same
# static executable (cgo for pg_query, linked with -static; see the script).
#
#   docker build -t pgai-reviewer .                # the bot: binary + CA certificates
#   docker build --target ci -t pgai-reviewer:ci . # for CI jobs: adds sh and git
#   docker run --rm -e PGAI_GITLAB_URL -e PGAI_GITLAB_TOKEN -e PGAI_WEBHOOK_SECRET \
#     -e PGAI_DATABASE_URL -p 8080:8080 pgai-reviewer serve

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN VERSION=$VERSION OUT=/out/reviewer scripts/release \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

# CI jobs need a shell (GitLab runs the job's script with sh) and git
# (`reviewer ci` diffs the merge request against its base).
FROM debian:bookworm-slim AS ci
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/reviewer /usr/local/bin/reviewer
ENTRYPOINT ["reviewer"]

# The bot (`reviewer serve`, `reviewer worker`): the static binary, the CA
# certificates it needs to reach GitLab, DBLab and an LLM over HTTPS, and a
# writable /tmp. Nothing else: no shell, no libc, no package manager.
FROM scratch AS final
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/reviewer /reviewer
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/reviewer"]
CMD ["serve"]
