# starline on AWS: four Lambda functions over one stage core, two lake buckets
# (ingestion zone: CSV, processed zone: Parquet), an EventBridge schedule, S3
# manifest triggers, Secrets Manager secrets (values set outside Terraform),
# CloudWatch logs, metrics and alarms to an SNS email topic.
#
#   EventBridge rate(N minutes) -> ingestion -> s3://<ingestion>/_manifests/<run>.json
#     -> transform -> s3://<processed>/_manifests/<run>.json -> loader -> warehouse
#   optional EventBridge schedule -> parquet_loader (datasets already in Parquet)

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = "starline", ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  ingestion_bucket = coalesce(var.ingestion_bucket_name, "${var.name_prefix}-ingestion-${local.account_id}")
  processed_bucket = coalesce(var.processed_bucket_name, "${var.name_prefix}-processed-${local.account_id}")

  # A relative artifacts directory is read from this folder (infra/), so the
  # default finds `npm run package`'s output in ../dist/lambda.
  artifacts_dir = startswith(var.lambda_artifacts_dir, "/") ? var.lambda_artifacts_dir : "${path.module}/${var.lambda_artifacts_dir}"

  redshift_enabled       = var.warehouse_engine == "redshift"
  parquet_loader_enabled = var.parquet_loader.enabled

  # The functions this configuration deploys, keyed by the `Function`
  # dimension the handlers write their metrics with.
  function_names = concat(["ingestion", "transform", "loader"], local.parquet_loader_enabled ? ["parquet_loader"] : [])
  # Their AWS names: <name_prefix>-ingestion, ...-parquet-loader.
  lambda_names = { for f in local.function_names : f => "${var.name_prefix}-${replace(f, "_", "-")}" }

  # The functions attached to the VPC (they reach a private database).
  vpc_functions = length(var.vpc_subnet_ids) > 0 ? toset(var.vpc_functions) : toset([])

  # Per-function sizing: the defaults, overridden key by key by the variables.
  memory_mb = merge({ ingestion = 512, transform = 2048, loader = 1024, parquet_loader = 1024 }, var.lambda_memory_mb)
  timeout_s = merge({ ingestion = 900, transform = 900, loader = 900, parquet_loader = 900 }, var.lambda_timeout_seconds)
  tmp_mb    = merge({ ingestion = 1024, transform = 4096, loader = 2048, parquet_loader = 2048 }, var.lambda_ephemeral_storage_mb)

  # What the warehouse functions are told about the warehouse: a secret when
  # no plain URL is given (the usual case: the URL holds a password).
  warehouse_secret_enabled = nonsensitive(var.warehouse_url == null)
  warehouse_env = merge(
    { STARLINE_WAREHOUSE_SCHEMA = var.warehouse_schema },
    local.warehouse_secret_enabled ? { STARLINE_WAREHOUSE_SECRET_ID = aws_secretsmanager_secret.warehouse[0].arn } : { STARLINE_WAREHOUSE_URL = var.warehouse_url },
    local.redshift_enabled ? { STARLINE_REDSHIFT_IAM_ROLE = aws_iam_role.redshift_copy[0].arn } : {},
  )
  common_env = {
    STARLINE_INGESTION_URL = "s3://${aws_s3_bucket.ingestion.bucket}"
    STARLINE_PROCESSED_URL = "s3://${aws_s3_bucket.processed.bucket}"
    STARLINE_SCRATCH_DIR   = "/tmp"
    STARLINE_LOG_LEVEL     = var.log_level
  }
}
