-- Credentials (issue 12, docs/design.md "Trust"): bearer API tokens of machine clients and the
-- short-lived tokens local accounts sign in to. A token is shown once; only its SHA-256 is kept
-- (a 256-bit random token needs no slow hash). A credential names its principal, role and
-- scope; revoking it sets revoked_at, and the row stays for the record.

CREATE TABLE credentials (
    -- the public id, for `egov tokens list|revoke`
    id          text COLLATE "C" PRIMARY KEY,
    -- hex SHA-256 of the token
    token_hash  text COLLATE "C" NOT NULL UNIQUE,
    principal   text NOT NULL,
    role        text COLLATE "C" NOT NULL,
    -- "*", "region:3301" or "departments:D1,D2"
    scope       text COLLATE "C" NOT NULL,
    -- "token" (API token) or "session" (signed in by a local account)
    kind        text COLLATE "C" NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz
);

-- Local accounts of people (the embedded default identity provider): argon2id password hashes
-- (PHC strings), signing in to `session` credentials.
CREATE TABLE accounts (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text COLLATE "C" NOT NULL,
    scope         text COLLATE "C" NOT NULL,
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);
