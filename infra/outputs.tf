output "ingestion_bucket" {
  description = "The ingestion-zone bucket (CSV runs and their manifests)."
  value       = aws_s3_bucket.ingestion.bucket
}

output "processed_bucket" {
  description = "The processed-zone bucket (Parquet runs and their manifests)."
  value       = aws_s3_bucket.processed.bucket
}

output "lake_urls" {
  description = "STARLINE_INGESTION_URL and STARLINE_PROCESSED_URL, for running the CLI against the same lake."
  value       = { ingestion = local.common_env.STARLINE_INGESTION_URL, processed = local.common_env.STARLINE_PROCESSED_URL }
}

output "function_names" {
  description = "Lambda function names by role (ingestion, transform, loader, parquet_loader)."
  value       = { for f, fn in aws_lambda_function.function : f => fn.function_name }
}

output "function_role_arns" {
  description = "Each function's IAM role."
  value       = { for f, r in aws_iam_role.function : f => r.arn }
}

output "duckdb_layer_arn" {
  description = "The DuckDB layer version."
  value       = aws_lambda_layer_version.duckdb.arn
}

output "source_secret_arn" {
  description = "Secret holding the source connection; put its value with `aws secretsmanager put-secret-value`."
  value       = aws_secretsmanager_secret.source.arn
}

output "warehouse_secret_arn" {
  description = "Secret holding the warehouse connection (null when warehouse_url is set)."
  value       = local.warehouse_secret_enabled ? aws_secretsmanager_secret.warehouse[0].arn : null
}

output "redshift_copy_role_arn" {
  description = "Role Redshift assumes to COPY from the processed bucket; associate it with the cluster or namespace (null unless warehouse_engine is redshift)."
  value       = local.redshift_enabled ? aws_iam_role.redshift_copy[0].arn : null
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to."
  value       = aws_sns_topic.alarms.arn
}

output "ingestion_schedule" {
  description = "The ingestion schedule expression."
  value       = aws_cloudwatch_event_rule.ingestion.schedule_expression
}
