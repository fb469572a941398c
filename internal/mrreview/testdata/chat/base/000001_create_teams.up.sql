CREATE TABLE IF NOT EXISTS teams (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    displayname varchar(64),
    name varchar(64) UNIQUE,
    description varchar(255),
    email varchar(128),
    type varchar(255),
    allowopeninvite boolean
);
