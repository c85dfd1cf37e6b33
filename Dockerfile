# Builds the seqsvr image used by docker-compose.yml. The server talks to the PostgreSQL named by
# SEQ_STORAGE_CONNECTIONSTRING; without it, it would start a private cluster, which this image does not ship.
# The dashboard (ADR 0037) needs Node.js 20 or later, which the SDK image lacks: it is built in a stage of its own.
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/Seq.Api/Dashboard
COPY Seq.Api/Dashboard/package.json Seq.Api/Dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY Seq.Api/Dashboard/ ./
RUN npm run --silent build -- --logLevel warn

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
COPY --from=dashboard /src/Seq.Api/wwwroot/ Seq.Api/wwwroot/
RUN dotnet publish Seq.Api/Seq.Api.csproj -c Release -p:SkipDashboard=true -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# The base image has neither curl nor wget; the HEALTHCHECK below asks /health with curl.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
COPY deploy/docker-entrypoint.sh /usr/local/bin/seqsvr-entrypoint
# The storage root and the audit directory belong to the unprivileged user the server runs as (the base image's
# "app", uid 1654): a compromised server cannot change the image, and ports above 1024 need no privilege.
RUN chmod 0755 /usr/local/bin/seqsvr-entrypoint \
    && mkdir -p /data /audit \
    && chown app:app /data /audit \
    && chmod 0700 /data /audit
USER app
ENV SEQ_STORAGE_ROOTPATH=/data \
    SEQ_API_LISTENURIS=http://0.0.0.0:5341
VOLUME ["/data", "/audit"]
EXPOSE 5341
# /health answers 503 while the database does not. The address is the first of SEQ_API_LISTENURIS on this
# container's loopback; override HEALTHCHECK_URL when the server listens elsewhere (or over https).
ENV HEALTHCHECK_URL=http://127.0.0.1:5341/health
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD curl -fsS -o /dev/null "$HEALTHCHECK_URL" || exit 1
ENTRYPOINT ["/usr/local/bin/seqsvr-entrypoint"]
CMD ["run"]
