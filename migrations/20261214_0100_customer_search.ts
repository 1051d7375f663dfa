import { sql, type Kysely } from 'kysely';

/**
 * Customer lookup whose cost does not grow with the book.
 *
 * - `search_name`: the name as lookups compare it (compatibility-normalised,
 *   lower case, accents and punctuation folded), in the C collation so one
 *   btree answers equality and prefix ranges. `search_grams`: the character
 *   pairs of its CJK runs. The import and the ingest API write both; the
 *   triggers below fill them for a row written any other way.
 * - A GIN index over the name tokens (words plus CJK pairs) answers word
 *   prefixes, CJK substrings and the candidates of a corrected query.
 * - `customer_words`: the vocabulary of name words with a trigram index, so
 *   typos are corrected against distinct words rather than every customer.
 *
 * The trigram indexes over every name and domain go: they cost most of a bulk
 * import and made every lookup that missed the exact branches read postings
 * proportional to the book. External ids use the C collation: equality is
 * unchanged, and its unique index is maintained by byte comparison.
 *
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
const CJK = '[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS unaccent`.execute(db);

  // The database's own version of the normalisation done in TypeScript (lookup.rules.ts, searchText),
  // for rows written without it. SET search_path pins the unaccent dictionary whatever the caller's path.
  await sql`
    CREATE FUNCTION retain_search_text(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT SET search_path FROM CURRENT
    RETURN btrim(regexp_replace(lower(unaccent('unaccent', normalize(t, NFKC))), '[^[:alnum:]]+', ' ', 'g'))`.execute(db);
  await sql
    .raw(
      `CREATE FUNCTION retain_search_grams(s text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       BEGIN ATOMIC
         SELECT string_agg(DISTINCT g, ' ') FROM (SELECT substr(s, i, 2) AS g FROM generate_series(1, char_length(s) - 1) AS i) AS pairs
         WHERE g ~ '^${CJK}{2}$';
       END`,
    )
    .execute(db);
  // Inlined into the index expression and into queries (plain immutable calls), so both match.
  await sql`
    CREATE FUNCTION retain_search_tokens(name text, grams text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_tsvector(string_to_array(name, ' ') || coalesce(string_to_array(grams, ' '), '{}'::text[]))`.execute(db);

  await sql`DROP INDEX IF EXISTS customers_name_trgm_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_domain_trgm_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_name_lower_idx`.execute(db);

  await sql`
    ALTER TABLE customers
      ALTER COLUMN external_id TYPE text COLLATE "C",
      ADD COLUMN search_name text COLLATE "C",
      ADD COLUMN search_grams text`.execute(db);
  await sql`UPDATE customers SET search_name = retain_search_text(name)`.execute(db);
  await sql`UPDATE customers SET search_grams = retain_search_grams(search_name) WHERE search_name ~ ${CJK}`.execute(db);
  await sql`ALTER TABLE customers ALTER COLUMN search_name SET NOT NULL`.execute(db);

  await sql`CREATE INDEX customers_search_name_idx ON customers (search_name)`.execute(db);
  await sql`CREATE INDEX customers_search_tokens_idx ON customers USING gin (retain_search_tokens(search_name, search_grams))`.execute(db);

  await sql`CREATE TABLE customer_words (word text COLLATE "C" PRIMARY KEY)`.execute(db);
  await sql`
    INSERT INTO customer_words (word)
    SELECT DISTINCT w FROM customers, unnest(string_to_array(search_name, ' ')) AS w WHERE w <> ''`.execute(db);
  await sql`CREATE INDEX customer_words_trgm_idx ON customer_words USING gin (word gin_trgm_ops)`.execute(db);

  // A row written without its search columns (any path but the import and the ingest API) gets them here;
  // the WHEN clauses keep the trigger function out of every write that brings its own.
  await sql`
    CREATE FUNCTION retain_customer_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.search_name := retain_search_text(NEW.name);
      NEW.search_grams := retain_search_grams(NEW.search_name);
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER customers_search_fill_insert BEFORE INSERT ON customers
    FOR EACH ROW WHEN (NEW.search_name IS NULL) EXECUTE FUNCTION retain_customer_search_fill()`.execute(db);
  await sql`
    CREATE TRIGGER customers_search_fill_update BEFORE UPDATE OF name ON customers
    FOR EACH ROW WHEN (NEW.name IS DISTINCT FROM OLD.name AND NEW.search_name IS NOT DISTINCT FROM OLD.search_name)
    EXECUTE FUNCTION retain_customer_search_fill()`.execute(db);

  // The vocabulary follows the names: one set-based insert per statement that adds customers, and a row
  // trigger for the rare rename. Words of renamed or deleted customers stay; they match nobody.
  await sql`
    CREATE FUNCTION retain_customer_words_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO customer_words (word)
      SELECT DISTINCT w FROM added, unnest(string_to_array(added.search_name, ' ')) AS w WHERE w <> '' ORDER BY 1
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER customers_words_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION retain_customer_words_added()`.execute(db);
  await sql`
    CREATE FUNCTION retain_customer_words_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO customer_words (word)
      SELECT DISTINCT w FROM unnest(string_to_array(NEW.search_name, ' ')) AS w WHERE w <> '' ORDER BY 1
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER customers_words_rename AFTER UPDATE ON customers
    FOR EACH ROW WHEN (NEW.search_name IS DISTINCT FROM OLD.search_name) EXECUTE FUNCTION retain_customer_words_renamed()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS customers_words_rename ON customers`.execute(db);
  await sql`DROP TRIGGER IF EXISTS customers_words_insert ON customers`.execute(db);
  await sql`DROP TRIGGER IF EXISTS customers_search_fill_update ON customers`.execute(db);
  await sql`DROP TRIGGER IF EXISTS customers_search_fill_insert ON customers`.execute(db);
  await sql`DROP FUNCTION IF EXISTS retain_customer_words_renamed(), retain_customer_words_added(), retain_customer_search_fill()`.execute(db);
  await sql`DROP TABLE IF EXISTS customer_words`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_search_tokens_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_search_name_idx`.execute(db);
  await sql`ALTER TABLE customers DROP COLUMN IF EXISTS search_grams, DROP COLUMN IF EXISTS search_name`.execute(db);
  await sql`ALTER TABLE customers ALTER COLUMN external_id TYPE text COLLATE "default"`.execute(db);
  await sql`DROP FUNCTION IF EXISTS retain_search_tokens(text, text), retain_search_grams(text), retain_search_text(text)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_name_trgm_idx ON customers USING gin (lower(name) gin_trgm_ops)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_domain_trgm_idx ON customers USING gin (lower(domain) gin_trgm_ops)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_name_lower_idx ON customers (lower(name) text_pattern_ops)`.execute(db);
}
