-- A duplicated database must never reach the production Xero organisation.
DELETE FROM xero_connection_token;
UPDATE xero_connection
   SET client_secret = NULL,
       oauth_nonce = NULL,
       oauth_code_verifier = NULL,
       pending_tenants = NULL,
       state = 'draft';
