-- Ending a person's sessions ends their access tokens too. Disabling a staff account, a new or
-- reset password, and a cancelled or merged citizen revoked the refresh tokens only: the access
-- tokens already issued (15 minutes by default, stateless) went on working, so a dismissed
-- member of staff, or whoever held a phone whose owner had just changed the password, kept
-- their access for those minutes; and a cancelled citizen's token named a number that could sign
-- in again as a new account. Now the front door refuses a token issued before its subject's
-- revocation (`token_revoked`), looked up by key in the statement that counts the request
-- against the rate limits, so it costs no round trip. One row per subject: the latest time.
create table access_revocations (
    subject     text primary key,
    revoked_at  timestamptz not null
);
