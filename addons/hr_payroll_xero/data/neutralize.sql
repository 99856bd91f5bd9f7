-- A duplicated database must never reach the production Xero organisation.
UPDATE xero_connection
   SET client_secret = NULL,
       access_token = NULL,
       refresh_token = NULL,
       token_expires_at = NULL,
       oauth_nonce = NULL,
       state = 'draft';
