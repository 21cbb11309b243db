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

resource "aws_lambda_function" "ingestion" {
  function_name    = local.lambda_names.ingestion
  description      = "starline extract: changed source rows into the ingestion zone (CSV) on a schedule."
  role             = aws_iam_role.function["ingestion"].arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  architectures    = ["x86_64"]
  filename         = "${local.artifacts_dir}/ingestion_function.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/ingestion_function.zip")
  memory_size      = local.memory_mb.ingestion
  timeout          = local.timeout_s.ingestion

  ephemeral_storage {
    size = local.tmp_mb.ingestion
  }

  environment {
    variables = merge(local.common_env, {
      STARLINE_SOURCE_SECRET_ID = aws_secretsmanager_secret.source.arn
    })
  }

  dynamic "vpc_config" {
    for_each = contains(local.vpc_functions, "ingestion") ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function" "transform" {
  function_name    = local.lambda_names.transform
  description      = "starline transform: each new ingestion run into star tables (Parquet) with DuckDB."
  role             = aws_iam_role.function["transform"].arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  architectures    = ["x86_64"]
  filename         = "${local.artifacts_dir}/transform_function.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/transform_function.zip")
  layers           = [aws_lambda_layer_version.duckdb.arn]
  memory_size      = local.memory_mb.transform
  timeout          = local.timeout_s.transform

  ephemeral_storage {
    size = local.tmp_mb.transform
  }

  environment {
    variables = local.common_env
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function" "loader" {
  function_name    = local.lambda_names.loader
  description      = "starline load: each processed run into the warehouse exactly once (ledger)."
  role             = aws_iam_role.function["loader"].arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  architectures    = ["x86_64"]
  filename         = "${local.artifacts_dir}/loader_function.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/loader_function.zip")
  layers           = [aws_lambda_layer_version.duckdb.arn]
  memory_size      = local.memory_mb.loader
  timeout          = local.timeout_s.loader

  ephemeral_storage {
    size = local.tmp_mb.loader
  }

  dynamic "vpc_config" {
    for_each = contains(local.vpc_functions, "loader") ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  environment {
    variables = merge(local.common_env, local.warehouse_env)
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function" "parquet_loader" {
  count = local.parquet_loader_enabled ? 1 : 0

  function_name    = local.lambda_names.parquet_loader
  description      = "starline load-parquet: Parquet datasets from their prefixes into a warehouse schema."
  role             = aws_iam_role.function["parquet_loader"].arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  architectures    = ["x86_64"]
  filename         = "${local.artifacts_dir}/parquet_loader_function.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/parquet_loader_function.zip")
  layers           = [aws_lambda_layer_version.duckdb.arn]
  memory_size      = local.memory_mb.parquet_loader
  timeout          = local.timeout_s.parquet_loader

  ephemeral_storage {
    size = local.tmp_mb.parquet_loader
  }

  dynamic "vpc_config" {
    for_each = contains(local.vpc_functions, "parquet_loader") ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  environment {
    variables = merge(local.common_env, local.warehouse_env, {
      STARLINE_LOADER_SPEC = var.parquet_loader.spec_json
    })
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

# S3 may invoke the transform and the loader, only for its own bucket and account.
resource "aws_lambda_permission" "transform_from_s3" {
  statement_id   = "AllowIngestionManifests"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.transform.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.ingestion.arn
  source_account = local.account_id
}

resource "aws_lambda_permission" "loader_from_s3" {
  statement_id   = "AllowProcessedManifests"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.loader.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.processed.arn
  source_account = local.account_id
}

# Asynchronous invocations (schedule and S3 events) are retried twice by
# Lambda; a stage's lease and the warehouse ledger make a retry safe.
resource "aws_lambda_function_event_invoke_config" "function" {
  for_each = toset(local.function_names)

  function_name                = local.functions[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

locals {
  functions = merge(
    { ingestion = aws_lambda_function.ingestion, transform = aws_lambda_function.transform, loader = aws_lambda_function.loader },
    local.parquet_loader_enabled ? { parquet_loader = aws_lambda_function.parquet_loader[0] } : {},
  )
}
