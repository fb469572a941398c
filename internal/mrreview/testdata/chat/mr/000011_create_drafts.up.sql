CREATE TABLE IF NOT EXISTS drafts (
    userid varchar(26) NOT NULL,
    channelid varchar(26) NOT NULL,
    rootid varchar(26) NOT NULL DEFAULT '',
    createat bigint,
    updateat bigint,
    message varchar(65535),
    props varchar(8000),
    PRIMARY KEY (userid, channelid, rootid)
);

CREATE INDEX IF NOT EXISTS idx_drafts_update_at ON drafts (updateat);
