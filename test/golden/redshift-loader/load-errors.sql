SELECT TRIM(file_name) AS file_name, TRIM(column_name) AS column_name, error_code, TRIM(error_message) AS error_message
FROM sys_load_error_detail
WHERE TRIM(file_name) IN ('s3://research-lake/twitter/users/part-00000.snappy.parquet', 's3://research-lake/twitter/users/batch=2/part-00001.snappy.parquet')
ORDER BY start_time DESC
LIMIT 5;
