-- devprov's device registry: its own database on the PostgreSQL server of the stack.
-- Run by the postgres image on its first start (docker-entrypoint-initdb.d).
CREATE DATABASE devprov;
