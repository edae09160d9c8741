# syntax=docker/dockerfile:1
# One Dockerfile for the four app images; APP picks the app:
#   docker build --build-arg APP=api -t telemetrypulse/api:0.1.0 .
# (APP = simulator, processor, api or operator.) The apps run as TypeScript on Node 24 (type
# stripping), so there is no build step: an image holds the app's and the shared package's
# sources, the SQL migrations and the production dependencies of that one workspace.
# apps/devstack/test/integration/images/ replays these steps without Docker and starts the result.
ARG NODE_IMAGE=node:24-alpine

FROM ${NODE_IMAGE} AS deps
ARG APP
# Unset in published builds. A local build that reaches the package registry through a
# TLS-intercepting proxy mounts the host's CA bundle and names it here for npm
# (apps/devstack/src/images/build.ts).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
# Every workspace's package.json: npm ci checks the lockfile against all of them, then installs
# only what the chosen workspace needs at run time.
COPY package.json package-lock.json .npmrc ./
COPY apps/shared/package.json apps/shared/
COPY apps/devstack/package.json apps/devstack/
COPY apps/simulator/package.json apps/simulator/
COPY apps/processor/package.json apps/processor/
COPY apps/api/package.json apps/api/
COPY apps/operator/package.json apps/operator/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace apps/${APP} --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG APP
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app ./
COPY apps/shared/src apps/shared/src
COPY apps/${APP}/src apps/${APP}/src
# The migration command (apps/shared/src/bin/migrate.ts) reads these; the Helm hook runs it.
COPY postgres/migrations postgres/migrations
ENV APP=${APP}
# Node's compile cache, filled at build time: the app then starts without type-stripping its
# sources again, so the TypeScript compiler (WebAssembly, some 20 MiB of RSS for the life of the
# process) is never loaded, and it starts faster. --help loads every module of the app and exits.
# The cache is per user id, so it is filled as the user the app runs as; read-only at run time.
RUN mkdir .node-compile-cache && chown 1000:1000 .node-compile-cache
# The node image's unprivileged user, numeric so Kubernetes can check runAsNonRoot.
USER 1000:1000
RUN NODE_COMPILE_CACHE=.node-compile-cache node "apps/${APP}/src/main.ts" --help > /dev/null
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
# The shell only picks the app's entry point and then becomes node (exec), so node is PID 1 and
# gets SIGTERM itself; arguments pass through: `docker run telemetrypulse/api:0.1.0 --help`.
ENTRYPOINT ["/bin/sh", "-c", "exec node \"apps/${APP}/src/main.ts\" \"$@\"", "--"]
