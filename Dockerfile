# syntax=docker/dockerfile:1
# The deploy-action container action: one static Go binary on a minimal base.
# internal/action/image_test.go checks what this file promises (static build,
# flags, base, entrypoint) and builds the binary with the same flags.

# The Go version of go.mod.
ARG GO_VERSION=1.26.8

# The build stage runs on the builder's own platform and cross-compiles, so a
# multi-arch build (release.yml) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags="-s -w -X github.com/grupo-gad/deploy-action/internal/cmd/root.Version=${VERSION}" \
      -o /out/deploy-action ./cmd/action

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell, no
# package manager (about 2 MB). No USER: GitHub runs a container action as
# the image's user, and only root may write the files the runner mounts
# (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, the workspace), as GitHub's
# "Dockerfile support for GitHub Actions" requires.
FROM gcr.io/distroless/static-debian12:latest
COPY --from=build /out/deploy-action /usr/local/bin/deploy-action
ENTRYPOINT ["/usr/local/bin/deploy-action"]
