# syntax=docker/dockerfile:1
# Two stages: `build` compiles TypeScript with the dev dependencies; `runtime` holds only the
# production dependencies, the compiled dist/ and the SQL migrations, and runs as the `node` user.
# test/build-replay.test.ts replays these steps outside Docker: keep COPY and RUN lines simple.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# argon2 ships prebuilt binaries for glibc, so the slim image needs no compiler.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The volume must exist and belong to `node` before VOLUME, or a fresh named volume is root's.
RUN mkdir -p /data && chown node:node /data
USER node
# Prometheus scrapes GET /metrics on its own port; the main port never serves it.
ENV HOST=0.0.0.0 PORT=3000 METRICS_PORT=9464 DATA_DIR=/data
VOLUME /data
EXPOSE 3000 9464
# The slim image has no curl; Node 20's fetch does the same.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server.js"]
