#!/bin/sh
# Reads Docker secrets into the server's settings: SEQ_SOMETHING_FILE=/run/secrets/name sets SEQ_SOMETHING to the
# file's content (without its final newline), so that no secret is written into docker-compose.yml or shown by
# `docker inspect`. Then runs seqsvr with the container's command (`run` by default).
set -eu

for variable in $(env | sed -n 's/^\(SEQ_[A-Z0-9_]*\)_FILE=.*$/\1/p'); do
    file=$(printenv "${variable}_FILE")
    if [ ! -r "$file" ]; then
        echo "${variable}_FILE names $file, which this container (uid $(id -u)) cannot read." >&2
        exit 1
    fi
    value=$(cat "$file")
    export "$variable=$value"
    unset "${variable}_FILE"
done

exec dotnet /app/seqsvr.dll "$@"
