-- Signing on behalf of a company (issue 7): the authority the sender asked for (`signature`,
-- `procuration` or `either`; NULL when the signer signs for themselves or for rows made before
-- this migration, read as `signature`), and the business-register evidence captured when the
-- signer signed: the decision and every raw register answer with its URL, time and digest, as
-- JSON, for the sealing pipeline's evidence record.
ALTER TABLE signers ADD COLUMN on_behalf_authority TEXT;
ALTER TABLE signers ADD COLUMN authority_json TEXT;
