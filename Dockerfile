# Builds the seqsvr image used by docker-compose.yml. The server talks to the PostgreSQL named by
# SEQ_STORAGE_CONNECTIONSTRING; without it, it would start a private cluster, which this image does not ship.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish Seq.Api/Seq.Api.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# The base image has neither curl nor wget; docker-compose.yml's healthcheck asks /health with curl.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV SEQ_STORAGE_ROOTPATH=/data \
    SEQ_API_LISTENURIS=http://0.0.0.0:5341
VOLUME /data
EXPOSE 5341
ENTRYPOINT ["dotnet", "/app/seqsvr.dll"]
CMD ["run"]
