# The Go deployables, one target each:
#   loandesk  api, worker and migrate (one binary, three commands)
#   scoring   stand-in for the external scoring service
#   identity  stand-in for the external identity service
# Base images are build arguments so a private mirror can be used.
# Base images are build arguments without defaults: the pins live in .env
# (compose passes them; deploy/aws/deploy.sh too), and a mirror can be used.
ARG GO_IMAGE
ARG RUNTIME_IMAGE

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer changes only with go.mod/go.sum.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api ./api
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/loandesk ./cmd/scoring ./cmd/identity

# What every runtime image shares: distroless, non-root, OCI labels.
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/loandesk/loandesk
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
USER 65532:65532

FROM runtime AS loandesk
LABEL org.opencontainers.image.title="loandesk" \
      org.opencontainers.image.description="LoanDesk API, worker and migrations"
COPY --from=build /out/loandesk /usr/local/bin/loandesk
EXPOSE 8000 8001
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["loandesk", "healthcheck"]
ENTRYPOINT ["loandesk"]
CMD ["serve"]

FROM runtime AS scoring
LABEL org.opencontainers.image.title="loandesk-scoring" \
      org.opencontainers.image.description="Stand-in for the external credit-scoring service"
COPY --from=build /out/scoring /usr/local/bin/scoring
EXPOSE 7001
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["scoring", "healthcheck"]
ENTRYPOINT ["scoring"]

FROM runtime AS identity
LABEL org.opencontainers.image.title="loandesk-identity" \
      org.opencontainers.image.description="Stand-in for the external identity service"
COPY --from=build /out/identity /usr/local/bin/identity
EXPOSE 7002
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["identity", "healthcheck"]
ENTRYPOINT ["identity"]
