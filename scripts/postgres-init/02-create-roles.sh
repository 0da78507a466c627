#!/usr/bin/env bash
# Runs once, when the postgres container starts on an empty volume (docker-entrypoint-initdb.d),
# after 01-create-app-databases.sh. Creates, as the superuser:
#   ai_validation_app, ai_validation_worker   the NOLOGIN group roles that migration
#                                             20261125110000 grants to (the migration role, dev_user,
#                                             may not create roles itself)
#   ai_validation_app_user                    LOGIN, member of ai_validation_app: what the application
#                                             connects as (when APP_LOGIN_PASSWORD[_FILE] is set)
#   ai_validation_worker_user                 LOGIN, member of ai_validation_worker: what evaluation
#                                             workers connect as (when WORKER_LOGIN_PASSWORD[_FILE] is set)
# Passwords reach psql through the environment, never a command line. APP_LOGIN_USER and
# WORKER_LOGIN_USER override the login names. Safe to run again: existing roles are left as they are.
set -euo pipefail

if [[ -n "${APP_LOGIN_PASSWORD_FILE:-}" ]]; then APP_LOGIN_PASSWORD="$(<"$APP_LOGIN_PASSWORD_FILE")"; fi
if [[ -n "${WORKER_LOGIN_PASSWORD_FILE:-}" ]]; then WORKER_LOGIN_PASSWORD="$(<"$WORKER_LOGIN_PASSWORD_FILE")"; fi
export APP_LOGIN_PASSWORD="${APP_LOGIN_PASSWORD:-}" WORKER_LOGIN_PASSWORD="${WORKER_LOGIN_PASSWORD:-}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v app_login="${APP_LOGIN_USER:-ai_validation_app_user}" \
  -v worker_login="${WORKER_LOGIN_USER:-ai_validation_worker_user}" <<'SQL'
\getenv app_password APP_LOGIN_PASSWORD
\getenv worker_password WORKER_LOGIN_PASSWORD
SELECT format('CREATE ROLE %I NOLOGIN', r) FROM unnest(ARRAY['ai_validation_app', 'ai_validation_worker']) AS r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE ai_validation_app', :'app_login', :'app_password')
 WHERE :'app_password' <> '' AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_login') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE ai_validation_worker', :'worker_login', :'worker_password')
 WHERE :'worker_password' <> '' AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'worker_login') \gexec
SQL

echo "02-create-roles: group roles ai_validation_app and ai_validation_worker are in place"
[[ -n "$APP_LOGIN_PASSWORD" ]] && echo "02-create-roles: the application logs in as ${APP_LOGIN_USER:-ai_validation_app_user}"
[[ -n "$WORKER_LOGIN_PASSWORD" ]] && echo "02-create-roles: workers log in as ${WORKER_LOGIN_USER:-ai_validation_worker_user}"
exit 0
