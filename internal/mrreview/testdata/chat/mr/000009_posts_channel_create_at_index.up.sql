CREATE INDEX IF NOT EXISTS idx_posts_channel_id_create_at ON posts (channelid, createat);
