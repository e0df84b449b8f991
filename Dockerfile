# syntax=docker/dockerfile:1
#
# One image for every command:
#   docker run IMAGE control-plane | worker | migrate | start | rotate-master-key
# (the default is `start`: control plane, one worker and the demo mock in one process).
# Configuration is the environment, as everywhere: see docs/configuration.md and docs/deployment.md.
#
# This file is checked by test/helm/image.test.ts (every COPY source exists and is in the
# build context, the build stage's compile runs on exactly those sources, the entrypoint is
# the package's bin); the image itself has not been built on the machines that wrote it
# (no Docker engine there).

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript to dist/ -------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The only install scripts in the tree are @bufbuild/buf's and protobufjs' (dev tools the
# compile does not use: proto/gen is committed).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY proto/gen ./proto/gen
COPY lib/src ./lib/src
COPY control-plane/src ./control-plane/src
COPY worker/src ./worker/src
COPY cli/src ./cli/src
COPY mock-provider/src ./mock-provider/src
RUN npm run build && chmod 0755 dist/cli/src/main.js

# --- prod-deps: production dependencies only --------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM (graceful drain) and SIGHUP (TLS reload), reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# MALLOC_ARENA_MAX: worker/src/heap.ts (MALLOC_ENV): ~10 MB less resident per process.
ENV NODE_ENV=production \
  MALLOC_ARENA_MAX=2 \
  LLM_GATEWAY_WORKER_HOST=0.0.0.0 \
  LLM_GATEWAY_CONTROL_PLANE_HOST=0.0.0.0 \
  LLM_GATEWAY_DATA_DIR=/var/lib/llm-gateway
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time: the control plane and `migrate` apply these (projectRoot()/control-plane/migrations).
COPY control-plane/migrations ./control-plane/migrations
# The package's bin (package.json "bin": llm-gateway -> dist/cli/src/main.js), linked as npm would.
# The data dir is only used by the embedded database (no DATABASE_URL), e.g. `start` on a laptop.
RUN ln -s /app/dist/cli/src/main.js /usr/local/bin/llm-gateway \
  && mkdir -p /var/lib/llm-gateway \
  && chown 1000:1000 /var/lib/llm-gateway
# The base image's "node" user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# 8080: worker (OpenAI API, /metrics/ai-gateway, /healthz, /readyz); 8081: control plane.
EXPOSE 8080 8081
# No HEALTHCHECK: which port answers depends on the command; Kubernetes uses the chart's probes.
# node with the gateway's V8 flags (worker/src/heap.ts NODE_FLAGS: V8 takes them only on its command
# line), then the package's bin: the first argument is still the command.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--no-memory-reducer", "/app/dist/cli/src/main.js"]
CMD ["start"]
