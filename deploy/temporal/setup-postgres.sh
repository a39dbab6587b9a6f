#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's two PostgreSQL databases and bring their
# schemas to the version this admin-tools image ships. Safe to run on every `docker compose up`.
set -eu

: "${POSTGRES_SEEDS:=postgresql}" "${DB_PORT:=5432}" "${POSTGRES_USER:=temporal}"
export SQL_PASSWORD="${POSTGRES_PWD:-temporal}"
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

for db in temporal temporal_visibility; do
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $DB_PORT -u $POSTGRES_USER --db $db"
  # `create` fails when the database exists (a restart): that is fine; the schema steps below
  # fail loudly on any real problem.
  $tool create 2>/dev/null || echo "database $db exists"
  $tool setup-schema -v 0.0
  if [ "$db" = temporal ]; then
    $tool update-schema -d "$SCHEMA/temporal/versioned"
  else
    $tool update-schema -d "$SCHEMA/visibility/versioned"
  fi
done
echo "PostgreSQL schemas are up to date"
