SELECT TRIM(file_name) AS file_name, TRIM(column_name) AS column_name, error_code, TRIM(error_message) AS error_message
FROM sys_load_error_detail
WHERE file_name LIKE 's3://research-lake/twitter/users\_v2/%'
ORDER BY start_time DESC
LIMIT 5;
