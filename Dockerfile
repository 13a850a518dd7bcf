# syntax=docker/dockerfile:1
# Arbiter: the AARM policy decision point, as a container image.
#
#   docker build -t arbiter:0.1.0 .
#   docker run --rm -p 8700:8700 \
#     -e ARBITER_AUTH=jwt -e ARBITER_JWKS_URL=https://idp.example.com/jwks.json \
#     -e ARBITER_JWT_ISSUER=https://idp.example.com/ -e ARBITER_JWT_AUDIENCE=arbiter arbiter:0.1.0
#
# The image listens on 0.0.0.0 (a container's loopback is unreachable from outside), so it
# refuses to start with authentication off (exit 2, one line): an open port would hand every
# role, admin included, to whoever reaches it. To try it out without an identity provider,
# say so explicitly (the service then logs an INSECURE line at start):
#   docker run --rm -p 127.0.0.1:8700:8700 -e ARBITER_INSECURE_ALLOW_NO_AUTH=true arbiter:0.1.0
#
# Layout of the runtime image (the service finds its root by walking up from its own file
# to the nearest package.json, and reads rego/, package.json and
# node_modules/@open-policy-agent/opa-wasm/capabilities.json relative to it):
#
#   /app/package.json
#   /app/dist/services/decision/src/...   compiled service (ENTRYPOINT cli/main.js)
#   /app/rego/                            core library (rego/aarm, always loaded) and the demo rules
#   /app/bin/arbiter.mjs                  `arbiter` command line (receipts verify, keys generate)
#   /app/node_modules/                    production dependencies only
#   /usr/local/bin/opa                    the pinned opa, which compiles policy to WASM at run time
#
# It runs as the non-root user arbiter (UID/GID 10001, the chart's securityContext) and
# writes only to /tmp (policy compiles), so it runs with a read-only root filesystem.

ARG NODE_IMAGE=node:26.12.1-bookworm-slim
ARG OPA_IMAGE=openpolicyagent/opa:1.22.3-static

# The official static opa build; only its binary is taken.
FROM ${OPA_IMAGE} AS opa

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY services ./services
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm sbom --sbom-format cyclonedx --omit dev > sbom.cdx.json

FROM ${NODE_IMAGE} AS runtime
ARG ARBITER_UID=10001
# ARBITER_AUTH is left at its default (off): with this host that refuses to start until
# jwt is configured or ARBITER_INSECURE_ALLOW_NO_AUTH=true is set (see above).
ENV NODE_ENV=production \
    ARBITER_OPA=/usr/local/bin/opa \
    ARBITER_HOST=0.0.0.0 \
    ARBITER_PORT=8700 \
    TMPDIR=/tmp
RUN groupadd --system --gid "${ARBITER_UID}" arbiter \
 && useradd --system --no-log-init --uid "${ARBITER_UID}" --gid "${ARBITER_UID}" --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin arbiter
WORKDIR /app
COPY --from=opa /opa /usr/local/bin/opa
# Owned by root and not writable by the service: nothing in the image changes at run time.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/services ./dist/services
# The software bill of materials of what ships (CycloneDX, from the lockfile by npm).
COPY --from=build /app/sbom.cdx.json ./sbom.cdx.json
COPY package.json ./
COPY rego ./rego
COPY bin ./bin
RUN opa version \
 && test -f node_modules/@open-policy-agent/opa-wasm/capabilities.json \
 && test -f rego/aarm/decision.rego \
 && test -f dist/services/decision/src/cli/main.js
USER ${ARBITER_UID}:${ARBITER_UID}
EXPOSE 8700
# For plain Docker; Kubernetes uses the chart's probes (/healthz, /readyz) instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.ARBITER_PORT || 8700}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/services/decision/src/cli/main.js"]
CMD ["serve"]
