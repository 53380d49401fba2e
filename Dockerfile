# syntax=docker/dockerfile:1
# Build: compile with every dependency, then keep only the production ones.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json mikro-orm.config.ts ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Run: production dependencies and compiled code only, as the unprivileged `node` user.
FROM node:24-slim
ENV NODE_ENV=production PORT=8000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8000
# Liveness only: a database outage must not get healthy containers restarted.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so it drains and exits 0.
# `npm run migration:up` in this image runs the compiled dist/mikro-orm.config.js.
# The heap flags are start:prod's (package.json): a small young generation and a
# slowly growing old one keep RSS flat under load (see README, Performance).
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=25", "dist/src/main.js"]
