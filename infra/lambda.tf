# Four functions over the same stage code, one zip each (`npm run package`),
# with DuckDB's native binding in a shared layer for the three that run it.

resource "aws_lambda_layer_version" "duckdb" {
  layer_name               = "${var.name_prefix}-duckdb"
  description              = "DuckDB's Node.js binding for Linux x64 (nodejs/node_modules/@duckdb)."
  filename                 = "${local.artifacts_dir}/duckdb_layer.zip"
  source_code_hash         = filebase64sha256("${local.artifacts_dir}/duckdb_layer.zip")
  compatible_runtimes      = ["nodejs20.x"]
  compatible_architectures = ["x86_64"]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = toset(local.function_names)

  name              = "/aws/lambda/${local.lambda_names[each.key]}"
  retention_in_days = var.log_retention_days
}

# What differs between the functions; everything else is the same resource.
locals {
  function_settings = {
    ingestion = {
      description = "starline extract: changed source rows into the ingestion zone (CSV) on a schedule."
      layers      = []
      environment = { STARLINE_SOURCE_SECRET_ID = aws_secretsmanager_secret.source.arn }
    }
    transform = {
      description = "starline transform: each new ingestion run into star tables (Parquet) with DuckDB."
      layers      = [aws_lambda_layer_version.duckdb.arn]
      environment = {}
    }
    loader = {
      description = "starline load: each processed run into the warehouse exactly once (ledger)."
      layers      = [aws_lambda_layer_version.duckdb.arn]
      environment = local.warehouse_env
    }
    parquet_loader = {
      description = "starline load-parquet: Parquet datasets from their prefixes into a warehouse schema."
      layers      = [aws_lambda_layer_version.duckdb.arn]
      environment = merge(local.warehouse_env, { STARLINE_LOADER_SPEC = var.parquet_loader.spec_json })
    }
  }
}

resource "aws_lambda_function" "function" {
  for_each = toset(local.function_names)

  function_name    = local.lambda_names[each.key]
  description      = local.function_settings[each.key].description
  role             = aws_iam_role.function[each.key].arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  architectures    = ["x86_64"]
  filename         = "${local.artifacts_dir}/${each.key}_function.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/${each.key}_function.zip")
  layers           = local.function_settings[each.key].layers
  memory_size      = local.memory_mb[each.key]
  timeout          = local.timeout_s[each.key]

  ephemeral_storage {
    size = local.tmp_mb[each.key]
  }

  environment {
    variables = merge(local.common_env, local.function_settings[each.key].environment)
  }

  # The transform needs no database, so vpc_functions may not name it (variables.tf).
  dynamic "vpc_config" {
    for_each = contains(local.vpc_functions, each.key) ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

# The functions were four resources before; a deployment made then keeps its functions.
moved {
  from = aws_lambda_function.ingestion
  to   = aws_lambda_function.function["ingestion"]
}

moved {
  from = aws_lambda_function.transform
  to   = aws_lambda_function.function["transform"]
}

moved {
  from = aws_lambda_function.loader
  to   = aws_lambda_function.function["loader"]
}

moved {
  from = aws_lambda_function.parquet_loader[0]
  to   = aws_lambda_function.function["parquet_loader"]
}

# S3 may invoke the transform and the loader, only for its own bucket and account.
resource "aws_lambda_permission" "transform_from_s3" {
  statement_id   = "AllowIngestionManifests"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.function["transform"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.ingestion.arn
  source_account = local.account_id
}

resource "aws_lambda_permission" "loader_from_s3" {
  statement_id   = "AllowProcessedManifests"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.function["loader"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.processed.arn
  source_account = local.account_id
}

# Asynchronous invocations (schedule and S3 events) are retried twice by
# Lambda; a stage's lease and the warehouse ledger make a retry safe.
resource "aws_lambda_function_event_invoke_config" "function" {
  for_each = toset(local.function_names)

  function_name                = aws_lambda_function.function[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

