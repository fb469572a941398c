-- +goose Up
CREATE TABLE users (
    id serial PRIMARY KEY,
    email varchar(255),
    name varchar(100),
    created_at timestamp DEFAULT now()
);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    user_id integer,
    total numeric(10,2),
    status varchar(20),
    created_at timestamp DEFAULT now()
);
-- +goose Down
DROP TABLE orders;
DROP TABLE users;
