#!/usr/bin/env bash
# Runs once, when the postgres container starts on an empty volume (docker-entrypoint-initdb.d).
# Creates the application role and the two databases it owns:
#   dev_user                      LOGIN, CREATEDB (tests and `npm run codegen` create throwaway
#                                 databases), not a superuser
#   ai_validation_platform        the development database
#   ai_validation_platform_test   for test runs against this server
# The password comes from DEV_USER_PASSWORD, or from the file named by DEV_USER_PASSWORD_FILE (a
# Docker secret). It is passed to psql through the environment, never on a command line.
# APP_DB_USER / APP_DB_NAME / APP_TEST_DB_NAME override the names. Safe to run again.
set -euo pipefail

if [[ -n "${DEV_USER_PASSWORD_FILE:-}" ]]; then
  DEV_USER_PASSWORD="$(<"$DEV_USER_PASSWORD_FILE")"
fi
if [[ -z "${DEV_USER_PASSWORD:-}" ]]; then
  echo "01-create-app-databases: set DEV_USER_PASSWORD or DEV_USER_PASSWORD_FILE" >&2
  exit 1
fi
export DEV_USER_PASSWORD

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v app_user="${APP_DB_USER:-dev_user}" \
  -v app_db="${APP_DB_NAME:-ai_validation_platform}" \
  -v test_db="${APP_TEST_DB_NAME:-ai_validation_platform_test}" <<'SQL'
\getenv app_password DEV_USER_PASSWORD
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'test_db', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'test_db') \gexec
SQL
echo "01-create-app-databases: role ${APP_DB_USER:-dev_user} owns ${APP_DB_NAME:-ai_validation_platform} and ${APP_TEST_DB_NAME:-ai_validation_platform_test}"
