-- +goose Up
-- Each call that claims a key names itself (a random token): when its
-- claim committed but the answer was lost with the connection (a primary
-- moving), its retry finds the claim its own and goes on filing, instead of
-- waiting out its own claim as if another request held it. Nullable: the
-- code before this migration claims without one (expand/contract).
ALTER TABLE filing_claims ADD COLUMN token text;

-- +goose Down
ALTER TABLE filing_claims DROP COLUMN token;
