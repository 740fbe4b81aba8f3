-- Run once by Patroni when it makes the cluster (post_bootstrap): the role
-- that owns LoanDesk's schema and runs its migrations, and its database.
-- The password is the db_password secret (the entrypoint put it in the
-- environment); unset, :'password' stays unexpanded and this fails.
\getenv password LOANDESK_DB_PASSWORD
CREATE ROLE loandesk LOGIN PASSWORD :'password';
CREATE DATABASE loandesk OWNER loandesk;
