#!/bin/bash
# One-shot init (the odoo-init service of docker-compose.yml), run before Odoo starts:
#   1. when the demo database does not have hr_payroll_xero installed yet, create/complete it:
#      odoo -d $ODOO_DB -i hr_payroll_xero --stop-after-init, with demo data (odoo.conf sets without_demo = False, read by Odoo 18 and 19);
#   2. every time: point the module at the compose sandbox (system parameters, see below).
# Idempotent: an existing database only gets step 2, so restarts keep your data.
set -euo pipefail

DB="${ODOO_DB:-xero_demo}"
# The same variables and defaults as the official image's /entrypoint.sh.
: "${HOST:=db}" "${PORT:=5432}" "${USER:=odoo}" "${PASSWORD:=odoo}"
export PGHOST="$HOST" PGPORT="$PORT" PGUSER="$USER" PGPASSWORD="$PASSWORD"
DB_ARGS=(--db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD")

# The sandbox is reached under two names, because two different clients talk to it:
#  - login_url is opened by the user's BROWSER (Connect to Xero -> the sandbox's consent page), so it must
#    be an address of the host machine: http://localhost:8070, the port docker-compose.yml publishes;
#  - identity_url and api_url are called by the ODOO SERVER (code exchange, token refresh, accounting
#    API) from inside the compose network, where localhost is the Odoo container itself: there the
#    sandbox is http://sandbox:8070 (its service name).
# With the real Xero all three are Xero's public hosts and the split does not matter.
XERO_LOGIN_URL="${XERO_LOGIN_URL:-http://localhost:8070}"
XERO_SERVER_URL="${XERO_SERVER_URL:-http://sandbox:8070}"
ODOO_BASE_URL="${ODOO_BASE_URL:-http://localhost:8069}"

wait-for-psql.py "${DB_ARGS[@]}" --timeout=60

state="$(psql -d "$DB" -Atc "SELECT state FROM ir_module_module WHERE name = 'hr_payroll_xero'" 2>/dev/null || true)"
first_init=0
if [ "$state" != "installed" ]; then
    first_init=1
    echo "entrypoint-init: installing hr_payroll_xero with demo data in database '$DB' (takes a minute or two)"
    # Odoo creates the database when it does not exist; a half-initialized one is completed.
    odoo "${DB_ARGS[@]}" -d "$DB" -i hr_payroll_xero --stop-after-init --no-http
fi

echo "entrypoint-init: pointing database '$DB' at the Xero sandbox (browser: $XERO_LOGIN_URL, server: $XERO_SERVER_URL)"
FIRST_INIT="$first_init" XERO_LOGIN_URL="$XERO_LOGIN_URL" XERO_SERVER_URL="$XERO_SERVER_URL" \
ODOO_BASE_URL="$ODOO_BASE_URL" \
    odoo shell "${DB_ARGS[@]}" -d "$DB" --no-http --log-level=warn <<'PY'
import os

params = env["ir.config_parameter"].sudo()
params.set_param("hr_payroll_xero.login_url", os.environ["XERO_LOGIN_URL"])
params.set_param("hr_payroll_xero.identity_url", os.environ["XERO_SERVER_URL"])
params.set_param("hr_payroll_xero.api_url", os.environ["XERO_SERVER_URL"])
if os.environ["FIRST_INIT"] == "1":
    # The OAuth redirect URI is <web.base.url>/hr_payroll_xero/oauth/callback: the browser's address of Odoo.
    params.set_param("web.base.url", os.environ["ODOO_BASE_URL"])
    # Log in straight into the demo company (Harbour Payroll Demo Ltd), whose batch and connection are ready.
    company = env.ref("hr_payroll_xero.company_harbour", raise_if_not_found=False)
    if company:
        env.ref("base.user_admin").write({"company_ids": [(4, company.id)], "company_id": company.id})
env.cr.commit()  # odoo shell rolls back whatever is not committed
PY
echo "entrypoint-init: done"
