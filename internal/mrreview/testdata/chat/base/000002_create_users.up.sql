CREATE TABLE IF NOT EXISTS users (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    username varchar(64) UNIQUE,
    email varchar(128) UNIQUE,
    nickname varchar(64),
    props varchar(4000),
    notifyprops varchar(2000),
    locale varchar(5),
    timezone varchar(256) DEFAULT '{"automaticTimezone":"","manualTimezone":"","useAutomaticTimezone":"true"}'
);
