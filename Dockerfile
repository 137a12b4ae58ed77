# syntax=docker/dockerfile:1
#
# Underpin's one image: the admission webhook, the reconciler, and the CNI
# installer with the CNI executable it puts on every node.
#
#   docker build -t REGISTRY/underpin:0.1.0 . && docker push REGISTRY/underpin:0.1.0
#   (cd manifests && kustomize edit set image underpin=REGISTRY/underpin:0.1.0)
#   kubectl apply -k manifests/
#
# NOT BUILT HERE: the development machine has no Docker engine, so `docker build`
# has never run on this file. What can be checked without one is checked by
# tests/install/image-layout.test.ts: every path this file copies exists (after
# `npm run build` for dist/), the manifests' entrypoints and args name files the
# runtime stage contains, and those entrypoints import nothing outside it (no test
# or hack code, no devDependency).
#
# Stage 1 installs everything and builds: tsc to dist/, then the single-executable
# CNI plugin dist/cni/bin/underpin (a copy of this stage's node binary with the
# bundled plugin injected; it runs on the node itself, which needs glibc >= 2.28,
# as Node 20 does). Dev dependencies are then pruned.
# Stage 2 is distroless Node 20: no shell, no package manager, user 65532.

ARG BUILD_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY ipam ipam
COPY webhook webhook
COPY reconciler reconciler
COPY certs certs
COPY cni cni
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
WORKDIR /app
# "type": "module": dist/ is ES modules.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/ipam ./dist/ipam
COPY --from=build /src/dist/webhook ./dist/webhook
COPY --from=build /src/dist/reconciler ./dist/reconciler
COPY --from=build /src/dist/certs ./dist/certs
COPY --from=build /src/dist/cni/install ./dist/cni/install
COPY --from=build /src/dist/cni/bin ./dist/cni/bin
USER 65532:65532
# The manifests pass the script as the first argument (args: [dist/webhook/main.js, ...]).
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["dist/webhook/main.js", "--help"]
