-- Display names of 64 characters are too short for some languages.
ALTER TABLE channels ALTER COLUMN displayname TYPE varchar(128);
