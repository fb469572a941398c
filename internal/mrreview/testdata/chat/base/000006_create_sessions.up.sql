CREATE TABLE IF NOT EXISTS sessions (
    id varchar(26) PRIMARY KEY,
    token varchar(26),
    createat bigint,
    expiresat bigint,
    lastactivityat bigint,
    userid varchar(26),
    deviceid varchar(512),
    roles varchar(64),
    props varchar(1000)
);

CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (userid);
CREATE INDEX IF NOT EXISTS idx_sessions_token ON sessions (token);
