#!/bin/sh
# Run once by the postgres image (the official one, or pls-postgres) on an empty data directory:
# one database per part of the studio, owned by POSTGRES_USER (docker-compose.yml's `studio`).
# Executable, so both entry points run it in a shell of its own.
set -eu
for database in ${STUDIO_DATABASES:-lms hub grader tutor}; do
  echo "creating database $database"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\""
done
