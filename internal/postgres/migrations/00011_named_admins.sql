-- +goose Up
-- Named admin accounts (`loandesk admin`): one that is disabled keeps its
-- row, so the audit trail still names it, and can be enabled again.
-- Nullable, no default (NULL: enabled): the code before this migration
-- neither reads nor writes it (expand/contract).
ALTER TABLE admins ADD COLUMN disabled_at timestamptz;

-- +goose Down
ALTER TABLE admins DROP COLUMN disabled_at;
