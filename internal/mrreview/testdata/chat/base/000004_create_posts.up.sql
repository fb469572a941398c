CREATE TABLE IF NOT EXISTS posts (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    userid varchar(26),
    channelid varchar(26),
    rootid varchar(26),
    message varchar(65535),
    type varchar(26),
    props varchar(8000),
    hashtags varchar(1000),
    filenames varchar(4000),
    fileids varchar(300),
    ispinned boolean
);

CREATE INDEX IF NOT EXISTS idx_posts_update_at ON posts (updateat);
CREATE INDEX IF NOT EXISTS idx_posts_create_at ON posts (createat);
CREATE INDEX IF NOT EXISTS idx_posts_root_id ON posts (rootid);
CREATE INDEX IF NOT EXISTS idx_posts_user_id ON posts (userid);
