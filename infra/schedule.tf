# The ingestion function runs on a fixed rate; transform and load follow
# through S3 events (s3.tf). The Parquet loader may have its own schedule.

resource "aws_cloudwatch_event_rule" "ingestion" {
  name                = "${var.name_prefix}-ingestion-schedule"
  description         = "Runs the starline extract every ${var.ingestion_interval_minutes} minute(s)."
  schedule_expression = "rate(${var.ingestion_interval_minutes} ${var.ingestion_interval_minutes == 1 ? "minute" : "minutes"})"
}

resource "aws_cloudwatch_event_target" "ingestion" {
  rule      = aws_cloudwatch_event_rule.ingestion.name
  target_id = "ingestion"
  arn       = aws_lambda_function.function["ingestion"].arn
}

resource "aws_lambda_permission" "ingestion_from_schedule" {
  statement_id  = "AllowIngestionSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["ingestion"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.ingestion.arn
}

locals {
  parquet_loader_scheduled = local.parquet_loader_enabled && var.parquet_loader.schedule_expression != null
}

resource "aws_cloudwatch_event_rule" "parquet_loader" {
  count = local.parquet_loader_scheduled ? 1 : 0

  name                = "${var.name_prefix}-parquet-loader-schedule"
  description         = "Runs the starline Parquet loader on ${var.parquet_loader.schedule_expression}."
  schedule_expression = var.parquet_loader.schedule_expression
}

resource "aws_cloudwatch_event_target" "parquet_loader" {
  count = local.parquet_loader_scheduled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.parquet_loader[0].name
  target_id = "parquet-loader"
  arn       = aws_lambda_function.function["parquet_loader"].arn
}

resource "aws_lambda_permission" "parquet_loader_from_schedule" {
  count = local.parquet_loader_scheduled ? 1 : 0

  statement_id  = "AllowParquetLoaderSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["parquet_loader"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.parquet_loader[0].arn
}
