#!/bin/sh
# Creates the secrets docker-compose.yml reads, once, in deploy/secrets/ (never committed). Run it from anywhere;
# an existing file is kept, so running it again fills in only what is missing.
#
# The directory is private to you (0700); the files in it are 0644 because docker-compose bind-mounts them into
# containers that run as other users (seqsvr as uid 1654), and Compose outside Swarm cannot change their owner.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 0700 secrets

random_alnum() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"; }

create() {
    name=$1
    shift
    if [ ! -s "secrets/$name" ]; then
        "$@" >"secrets/$name"
        echo "created deploy/secrets/$name"
    fi
    chmod 0644 "secrets/$name"
}

create postgres_password random_alnum 32
create audit_postgres_password random_alnum 32
# The servers' secret keys: 32 random bytes in base64, as `seqsvr show-key --generate` prints. Keep a copy
# off this machine: a backup cannot be restored without its key.
create seq_secret_key sh -c 'head -c 32 /dev/urandom | base64'
create audit_secret_key sh -c 'head -c 32 /dev/urandom | base64'
# The administrators' passwords at first start (change them at the first login).
create seq_admin_password random_alnum 24
create audit_admin_password random_alnum 24
# The Ingest-only key the audit instance creates at its first start and the main server sends its audit events with.
create audit_ingest_api_key random_alnum 32

create seq_connection_string sh -c 'printf "Host=postgres;Port=5432;Database=seq;Username=seq;Password=%s" "$(cat secrets/postgres_password)"'
create audit_connection_string sh -c 'printf "Host=postgres-audit;Port=5432;Database=seqaudit;Username=seqaudit;Password=%s" "$(cat secrets/audit_postgres_password)"'
