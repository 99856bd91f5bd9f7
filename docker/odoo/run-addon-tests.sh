#!/bin/bash
# Runs hr_payroll_xero's Odoo tests in a throw-away database and drops it again; exit code = Odoo's
# (non-zero when a test failed). Usage: docker compose run --rm odoo run-addon-tests.sh [extra odoo args]
# The tests start their own Xero sandbox on 127.0.0.1 inside this container; they do not use the sandbox service.
set -uo pipefail

DB="test_hr_payroll_xero_$$"
: "${HOST:=db}" "${PORT:=5432}" "${USER:=odoo}" "${PASSWORD:=odoo}"
export PGHOST="$HOST" PGPORT="$PORT" PGUSER="$USER" PGPASSWORD="$PASSWORD"
DB_ARGS=(--db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD")

wait-for-psql.py "${DB_ARGS[@]}" --timeout=60 || exit 2
odoo "${DB_ARGS[@]}" -d "$DB" -i hr_payroll_xero --test-enable --test-tags /hr_payroll_xero \
    --stop-after-init --http-port 8079 "$@"
rc=$?
dropdb --if-exists "$DB"
rm -rf "/var/lib/odoo/filestore/$DB"
exit $rc
