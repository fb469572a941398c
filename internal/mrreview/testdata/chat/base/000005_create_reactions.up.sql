CREATE TABLE IF NOT EXISTS reactions (
    userid varchar(26) NOT NULL,
    postid varchar(26) NOT NULL,
    emojiname varchar(64) NOT NULL,
    createat bigint,
    PRIMARY KEY (postid, userid, emojiname)
);
