CREATE SCHEMA IF NOT EXISTS "tara_test";

CREATE TABLE IF NOT EXISTS "tara_test"."_starline_parquet_loads" (
  table_name VARCHAR(256) NOT NULL,
  mode VARCHAR(16) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  files VARCHAR(65535) NOT NULL,
  rows BIGINT NOT NULL,
  loaded_at TIMESTAMP NOT NULL DEFAULT GETDATE(),
  PRIMARY KEY (table_name)
);

CREATE TABLE IF NOT EXISTS "tara_test"."users" (
  "user_id" BIGINT,
  "name" VARCHAR(600),
  "bio" VARCHAR(65535),
  "score" NUMERIC(12,2),
  "ratio" DOUBLE PRECISION,
  "protected" BOOLEAN,
  "created_at" TIMESTAMP
);

CREATE TEMPORARY TABLE "starline_stage_users" (
  "user_id" BIGINT,
  "name" VARCHAR(600),
  "bio" VARCHAR(65535),
  "score" NUMERIC(12,2),
  "ratio" DOUBLE PRECISION,
  "protected" BOOLEAN,
  "created_at" TIMESTAMP
);

COPY "starline_stage_users" FROM 's3://research-lake/twitter/users/_starline_manifests/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff.json' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftRole' FORMAT AS PARQUET MANIFEST;

DELETE FROM "tara_test"."users" USING "starline_stage_users" WHERE "tara_test"."users"."user_id" = "starline_stage_users"."user_id";

INSERT INTO "tara_test"."users" ("user_id", "name", "bio", "score", "ratio", "protected", "created_at") SELECT "user_id", "name", "bio", "score", "ratio", "protected", "created_at" FROM "starline_stage_users";

DROP TABLE "starline_stage_users";

DELETE FROM "tara_test"."_starline_parquet_loads" WHERE table_name = 'users';

INSERT INTO "tara_test"."_starline_parquet_loads" (table_name, mode, fingerprint, files, rows) VALUES ('users', 'merge', 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', '[{"url":"s3://research-lake/twitter/users/part-00000.snappy.parquet","size":1000,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"},{"url":"s3://research-lake/twitter/users/batch=2/part-00001.snappy.parquet","size":1001,"sha256":"1111111111111111111111111111111111111111111111111111111111111111"}]', 21);
