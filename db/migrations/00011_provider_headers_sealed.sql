-- +goose Up
-- Provider headers carry credentials (Azure OpenAI's api-key,
-- Proxy-Authorization, cookies), so their values are sealed under the
-- keyring like api_key: one AES-256-GCM ciphertext of the whole name→value
-- map, with the id of the key that sealed it. Only the names stay readable,
-- for the API to show.
--
-- A migration holds no key, so it cannot encrypt: it renames the old
-- column to plain_headers and leaves existing values there. The api and the
-- worker seal them at start (and `sabe keys rotate` does too), emptying
-- plain_headers in the same transaction; until then ProviderConn still
-- reads them, so providers keep working. Nothing writes plain_headers
-- any more.
ALTER TABLE providers RENAME COLUMN headers TO plain_headers;
ALTER TABLE providers
    ADD COLUMN header_names       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN headers_key_id     text,
    ADD COLUMN headers_ciphertext bytea,
    ADD CONSTRAINT providers_headers_sealed CHECK ((headers_key_id IS NULL) = (headers_ciphertext IS NULL));
UPDATE providers
SET header_names = ARRAY(SELECT jsonb_object_keys(plain_headers) ORDER BY 1)
WHERE plain_headers <> '{}';

-- +goose Down
-- Sealed values cannot be put back in plain text without the key: going
-- down keeps only headers not sealed yet. Set the others again afterwards.
ALTER TABLE providers
    DROP CONSTRAINT providers_headers_sealed,
    DROP COLUMN headers_ciphertext,
    DROP COLUMN headers_key_id,
    DROP COLUMN header_names;
ALTER TABLE providers RENAME COLUMN plain_headers TO headers;
