-- Run once by Patroni when it makes the cluster (post_bootstrap): the role
-- that owns LoanDesk's schema and runs its migrations (loandesk), its
-- database, and the role the api and the worker use (loandesk_app), which
-- owns nothing: migrate grants it the tables' rows (APP_DB_ROLE), never
-- their shape. The passwords are the db_password and db_app_password
-- secrets (the entrypoint put them in the environment); unset, :'password'
-- stays unexpanded and this fails.
\getenv password LOANDESK_DB_PASSWORD
\getenv app_password LOANDESK_APP_DB_PASSWORD
CREATE ROLE loandesk LOGIN PASSWORD :'password';
CREATE ROLE loandesk_app LOGIN PASSWORD :'app_password';
CREATE DATABASE loandesk OWNER loandesk;
