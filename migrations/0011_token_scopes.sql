-- Station tokens get a scope. `release` may redeem codes and fetch or acknowledge the jobs a
-- code names; `poll` may also list every pending job of its site. Tokens made before scopes
-- existed become `poll` (what they could do until now), so no station breaks on upgrade;
-- `station-token create` names the scope of every new token explicitly (default `release`).
ALTER TABLE station_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'poll';

-- When the token last authenticated a request (Unix seconds; NULL: never since this column
-- exists). Written at most once a minute per token, so it costs no write per request.
ALTER TABLE station_tokens ADD COLUMN last_used_at BIGINT;
