CREATE TABLE forgotten (id int);
