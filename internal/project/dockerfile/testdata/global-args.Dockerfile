ARG PYTHON_VERSION=3.12
ARG VARIANT=slim-bookworm
ARG BASE=python:${PYTHON_VERSION}-${VARIANT}
FROM --platform=$BUILDPLATFORM ${BASE} aS Builder
ARG PYTHON_VERSION
RUN pip install --prefix=/install -r requirements.txt
FROM builder AS final
COPY --from=BUILDER /install /usr/local
COPY --from=0 /etc/hosts /tmp/hosts
ENTRYPOINT ["tini", "--"]
