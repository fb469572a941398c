CREATE TABLE tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL,
    title varchar(200) NOT NULL,
    done boolean NOT NULL DEFAULT false,
    due_at timestamp
);
CREATE INDEX tasks_project_id_idx ON tasks (project_id);
