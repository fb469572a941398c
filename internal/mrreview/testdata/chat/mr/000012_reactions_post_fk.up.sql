ALTER TABLE reactions
    ADD CONSTRAINT fk_reactions_post FOREIGN KEY (postid) REFERENCES posts (id) ON DELETE CASCADE;
