-- Grows loan_requests to :rows requests of plausible history, in bulk:
--
--   psql -v rows=10000000 -f tools/seed/seed.sql     (make seed ROWS=…, make bench)
--
-- The new requests are older than every existing one (two years of history
-- ending just before the oldest), so the table stays in its time order and
-- anything filed since keeps its place. Names, emails and document numbers
-- are drawn so that searches behave as on real data: many people share a
-- surname, nobody shares a document number. Seeded requests carry no audit
-- events (no admin path reads them in bulk) and no decision jobs (the ones
-- in review wait for a person, reason "manual").
--
-- Bulk loading: the secondary indexes, unique constraints and the search
-- tables' keys are saved, dropped, and rebuilt after the load from their own
-- definitions (so this file never repeats the schema); the triggers are off
-- and the daily counts and search terms are filled once, in bulk. Nobody
-- should file while it runs: it holds the tables locked.
\set ON_ERROR_STOP on
SET maintenance_work_mem = '256MB';
SET max_parallel_maintenance_workers = 2;
SELECT set_config('seed.rows', :'rows', false);

BEGIN;
LOCK TABLE loan_requests, loan_words, loan_documents, loan_counts IN ACCESS EXCLUSIVE MODE;

CREATE TEMP TABLE seed_plan ON COMMIT DROP AS
SELECT greatest(least(current_setting('seed.rows')::bigint, 33554431) - count(*), 0) AS n,
       coalesce(max(id), 0) AS id_base,
       coalesce(min(created_at), now()) - interval '1 second' AS until
FROM loan_requests;

SELECT n AS rows_to_add, n > 0 AS adding FROM seed_plan \gset
\if :adding
\echo seeding :rows_to_add requests
\else
\echo the table already holds :rows requests or more: nothing to add
\endif

-- Every index of loan_requests but the primary key, its unique
-- constraints, and every index of the search tables, as SQL that
-- recreates them.
CREATE TEMP TABLE seed_indexes ON COMMIT DROP AS
SELECT 'ALTER TABLE ' || c.conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) AS create_sql,
       'ALTER TABLE ' || c.conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(c.conname) AS drop_sql
FROM pg_constraint c
WHERE ((c.conrelid = 'loan_requests'::regclass AND c.contype = 'u')
       OR (c.conrelid IN ('loan_words'::regclass, 'loan_documents'::regclass) AND c.contype = 'p'))
  AND (SELECT n FROM seed_plan) > 0
UNION ALL
SELECT pg_get_indexdef(i.indexrelid), 'DROP INDEX ' || i.indexrelid::regclass
FROM pg_index i
WHERE i.indrelid IN ('loan_requests'::regclass, 'loan_words'::regclass, 'loan_documents'::regclass) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND (SELECT n FROM seed_plan) > 0;

SELECT drop_sql FROM seed_indexes \gexec
-- The triggers that keep the daily counts and the search tables: all are
-- filled once below, in bulk.
ALTER TABLE loan_requests DISABLE TRIGGER USER;

INSERT INTO loan_requests (tracking_code, full_name, email, document_number, gender, amount, status, reason,
    score, idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by, deleted_at)
SELECT 'LD-' || code, full_name, email, doc, gender, amount, status, reason, score,
       'seed-' || k, encode(sha256(convert_to(full_name || email || doc || amount, 'UTF8')), 'hex'),
       created_at, coalesce(deleted_at, decided_at, created_at), decided_at, decided_by, deleted_at
FROM (
    SELECT k, x, h, code, full_name, doc, gender, amount, created_at,
           lower(loandesk_fold(first) || '.' || replace(loandesk_fold(last1), ' ', '') || (k % 997)) || '@' ||
               (ARRAY['gmail.com', 'hotmail.com', 'yahoo.com.ar', 'outlook.com', 'live.com.ar', 'fibertel.com.ar'])[1 + k % 6] AS email,
           CASE WHEN roll < 55 THEN 'approved' WHEN roll < 90 THEN 'rejected' ELSE 'in_review' END AS status,
           CASE WHEN roll < 55 THEN 'score' WHEN roll < 85 THEN 'score' WHEN roll < 90 THEN 'identity' ELSE 'manual' END AS reason,
           CASE WHEN roll < 85 THEN 300 + h % 550 END AS score,
           CASE WHEN roll < 90 THEN created_at + interval '2 seconds' END AS decided_at,
           CASE WHEN roll < 90 THEN 'system' ELSE '' END AS decided_by,
           CASE WHEN x >> 25 & 127 = 0 THEN created_at + interval '3 days' END AS deleted_at
    FROM (
        SELECT k, x, h, first, last1, first || ' ' || last1 || ' ' || last2 AS full_name,
               -- a permutation of 10,000,000..99,999,999: unique, random-looking
               (10000000 + (k * 7919) % 90000000)::text AS doc,
               (ARRAY['F', 'M', 'F', 'M', 'X'])[1 + h / 200000 % 5] AS gender,
               10000 + (k * 104729) % 4990001 AS amount,
               h / 1000000 % 100 AS roll,
               p.until - (p.n - (k - p.id_base)) * (interval '730 days' / greatest(p.n, 1)) AS created_at,
               -- the row number scrambled into ten letters of the tracking alphabet
               substr(a, 1 + (x >> 45 & 31)::int, 1) || substr(a, 1 + (x >> 40 & 31)::int, 1) ||
               substr(a, 1 + (x >> 35 & 31)::int, 1) || substr(a, 1 + (x >> 30 & 31)::int, 1) ||
               substr(a, 1 + (x >> 25 & 31)::int, 1) || substr(a, 1 + (x >> 20 & 31)::int, 1) ||
               substr(a, 1 + (x >> 15 & 31)::int, 1) || substr(a, 1 + (x >> 10 & 31)::int, 1) ||
               substr(a, 1 + (x >> 5 & 31)::int, 1) || substr(a, 1 + (x & 31)::int, 1) AS code
        FROM seed_plan p,
             generate_series(p.id_base + 1, p.id_base + p.n) k,
             -- x: 50 bits, unique while k < 2^25 (a hash of k above k itself)
             LATERAL (SELECT (hashint8(-k)::bigint & 33554431) << 25 | (k & 33554431) AS x, hashint8(k)::bigint & 2147483647 AS h,
                             '0123456789ABCDEFGHJKMNPQRSTVWXYZ' AS a) mix,
             LATERAL (SELECT (ARRAY['María', 'José', 'Juan', 'Ana', 'Lucía', 'Martín', 'Sofía', 'Mateo', 'Valentina', 'Santiago',
                                   'Camila', 'Benjamín', 'Isabella', 'Tomás', 'Martina', 'Joaquín', 'Agustina', 'Nicolás',
                                   'Florencia', 'Matías', 'Julieta', 'Facundo', 'Micaela', 'Lautaro', 'Rocío', 'Ramón',
                                   'Inés', 'Andrés', 'Belén', 'Iñaki', 'Zoë', 'Germán', 'Mónica', 'Héctor', 'Verónica',
                                   'Sebastián', 'Noelia', 'Fernando', 'Gisela', 'Raúl'])[1 + h % 40] AS first,
                             (ARRAY['González', 'Rodríguez', 'Gómez', 'Fernández', 'López', 'Díaz', 'Martínez', 'Pérez',
                                   'García', 'Sánchez', 'Romero', 'Sosa', 'Torres', 'Álvarez', 'Ruiz', 'Ramírez',
                                   'Flores', 'Acosta', 'Benítez', 'Medina', 'Suárez', 'Herrera', 'Aguirre', 'Pereyra',
                                   'Gutiérrez', 'Giménez', 'Molina', 'Silva', 'Castro', 'Rojas', 'Ortiz', 'Núñez',
                                   'Luna', 'Juárez', 'Cabrera', 'Ríos', 'Ferreyra', 'Godoy', 'Morales', 'Domínguez',
                                   'Moreno', 'Peralta', 'Vega', 'Carrizo', 'Quiroga', 'Castillo', 'Ledesma', 'Muñoz',
                                   'Ojeda', 'Ponce', 'Vera', 'Vázquez', 'Villalba', 'Cardozo', 'Navarro', 'Ramos',
                                   'Arias', 'Coronel', 'Córdoba', 'Figueroa', 'Correa', 'Cáceres', 'Vargas', 'Maldonado',
                                   'Mansilla', 'Farías', 'Rivero', 'Paz', 'Miranda', 'Roldán', 'Méndez', 'Lucero',
                                   'Cruz', 'Hernández', 'Agüero', 'Páez', 'Blanco', 'Mendoza', 'Barrios', 'Escobar',
                                   'Ávila', 'Soria', 'Leiva', 'Acuña', 'Martín', 'Maidana', 'Moyano', 'Campos', 'Olivera',
                                   'Duarte', 'Soto', 'Bustos', 'Chávez', 'Ibáñez', 'Guzmán', 'Mercado', 'Bravo', 'Peña',
                                   'Villarreal', 'de la Fuente'])[1 + h / 40 % 100] AS last1,
                             (ARRAY['Quispe', 'Mamani', 'Ibarra', 'Ayala', 'Rosales', 'Franco', 'Salinas', 'Ortega',
                                   'Delgado', 'Cabral', 'Aguilar', 'Báez', 'Paredes', 'Núñez', 'Sáenz', 'Ocampo',
                                   'Villegas', 'Zapata', 'Toledo', 'Gallardo', 'Bazán', 'Ferrari', 'Rossi', 'Russo',
                                   'Romano', 'Colombo', 'Bruno', 'Costa', 'Rinaldi', 'Esposito', 'Ricci', 'Greco',
                                   'Lombardi', 'Conti', 'Marino', 'Caruso', 'Gallo', 'Fontana', 'Santoro', 'Longo',
                                   'Müller', 'Schmidt', 'Weiß', 'O''Brien', 'Nakamura', 'Kowalski', 'Dubois', 'Lefèvre',
                                   'Nguyễn', 'Øster'])[1 + h / 4000 % 50] AS last2) names
    ) base
) seeded;

ALTER TABLE loan_requests ENABLE TRIGGER USER;

-- The new requests' search terms (words and pairs of words) and document
-- suffixes, as the triggers would have written them.
INSERT INTO loan_words
SELECT t, r.created_at, r.id FROM loan_requests r, unnest(loandesk_terms(r.full_name, r.email)) t
WHERE r.id > (SELECT id_base FROM seed_plan);
INSERT INTO loan_documents
SELECT s, r.created_at, r.id FROM loan_requests r, unnest(loandesk_suffixes(r.document_number)) s
WHERE r.id > (SELECT id_base FROM seed_plan);

SELECT create_sql FROM seed_indexes \gexec

-- The daily counts, recomputed from the table once.
DELETE FROM loan_counts;
INSERT INTO loan_counts (day, status, deleted, shard, n)
SELECT (created_at AT TIME ZONE 'UTC')::date, status, deleted_at IS NOT NULL, 0, count(*)
FROM loan_requests GROUP BY 1, 2, 3;
COMMIT;

-- Fresh statistics for the planner, and a visibility map for index-only scans.
VACUUM (ANALYZE) loan_requests;
VACUUM (ANALYZE) loan_counts;
VACUUM (ANALYZE) loan_words;
VACUUM (ANALYZE) loan_documents;
SELECT count(*) AS requests, pg_size_pretty(pg_total_relation_size('loan_requests')) AS on_disk FROM loan_requests;
