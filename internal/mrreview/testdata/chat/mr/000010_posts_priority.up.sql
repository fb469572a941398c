ALTER TABLE posts ADD COLUMN IF NOT EXISTS priority varchar(32);
ALTER TABLE posts ADD COLUMN IF NOT EXISTS requestedack boolean DEFAULT false;
