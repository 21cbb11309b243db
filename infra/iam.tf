# One role per function and one policy document per role, so a reviewer can
# read each function's whole reach in one place. What each may touch:
#
#   function        ingestion bucket     processed bucket                 secrets    other
#   ingestion       read, write, delete  -                                source     VPC interfaces (when in the VPC)
#   transform       read                 read, write, delete              -          -
#   loader          get _manifests/*     read; write loader_write_prefixes warehouse  Redshift Data API; VPC
#   parquet_loader  -                    -                                warehouse  read its dataset prefixes (Redshift: write
#                                                                                    COPY manifests there); Data API; VPC
#
# A function writes only in the zone it produces; the zone it consumes it
# only reads. The S3 object store proves, before its first write to a bucket,
# that the bucket honours conditional writes, with a probe object under
# `_probe/`: a function that writes a prefix may also write its `_probe/`.

locals {
  ingestion_arn = aws_s3_bucket.ingestion.arn
  processed_arn = aws_s3_bucket.processed.arn

  log_group_arns = { for f, g in aws_cloudwatch_log_group.function : f => g.arn }

  # Keys the loader writes in the processed zone it otherwise only reads:
  # the S3 store's probe before its first write, the failure record of a
  # failed load, and (Redshift) the COPY manifests that list exactly one
  # run's files.
  loader_write_prefixes = concat(["_probe/", "_failures/load/"], local.redshift_enabled ? ["_copy/"] : [])

  dataset_bucket_arn    = "arn:${local.partition}:s3:::${var.parquet_loader.dataset_bucket}"
  dataset_object_arns   = [for p in var.parquet_loader.dataset_prefixes : "${local.dataset_bucket_arn}/${p}*"]
  dataset_list_prefixes = flatten([for p in var.parquet_loader.dataset_prefixes : [p, "${p}*"]])
  # On Redshift the Parquet loader writes, under each table's prefix, the COPY
  # manifest listing that table's exact files (and the S3 store's probe before
  # that first write); it writes nothing else anywhere.
  dataset_write_arns = local.redshift_enabled ? flatten([for p in var.parquet_loader.dataset_prefixes : ["${local.dataset_bucket_arn}/${p}_starline_manifests/*", "${local.dataset_bucket_arn}/${p}_probe/*"]]) : []

  data_api_arn        = local.redshift_enabled ? var.redshift_data_api_resource_arn : null
  data_api_serverless = local.data_api_arn != null && can(regex(":workgroup/", coalesce(local.data_api_arn, "-")))
  # A provisioned cluster's temporary IAM credentials are granted per database.
  data_api_cluster        = local.data_api_arn != null && !local.data_api_serverless ? element(split(":cluster:", local.data_api_arn), 1) : null
  data_api_cluster_db_arn = local.data_api_cluster != null ? "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbname:${local.data_api_cluster}/${var.redshift_database}" : null

  function_policies = merge(
    {
      ingestion = data.aws_iam_policy_document.ingestion.json
      transform = data.aws_iam_policy_document.transform.json
      loader    = data.aws_iam_policy_document.loader.json
    },
    local.parquet_loader_enabled ? { parquet_loader = data.aws_iam_policy_document.parquet_loader[0].json } : {},
  )
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = toset(local.function_names)

  name               = "${local.lambda_names[each.key]}-function"
  description        = "starline ${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "function" {
  for_each = toset(local.function_names)

  name   = "${local.lambda_names[each.key]}-least-privilege"
  role   = aws_iam_role.function[each.key].id
  policy = local.function_policies[each.key]
}

data "aws_iam_policy_document" "ingestion" {
  source_policy_documents = contains(local.vpc_functions, "ingestion") ? [data.aws_iam_policy_document.vpc_access.json] : []

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.ingestion}:*"]
  }
  statement {
    sid       = "ListIngestionZone"
    actions   = ["s3:ListBucket"]
    resources = [local.ingestion_arn]
  }
  statement {
    sid = "WriteIngestionZone"
    # AbortMultipartUpload: a failed streaming upload (lib-storage) aborts its parts; without it the
    # abort's AccessDenied would replace the real error.
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.ingestion_arn}/*"]
  }
  statement {
    sid       = "ReadSourceSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.source.arn]
  }
}

data "aws_iam_policy_document" "transform" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.transform}:*"]
  }
  statement {
    sid       = "ListBothZones"
    actions   = ["s3:ListBucket"]
    resources = [local.ingestion_arn, local.processed_arn]
  }
  statement {
    sid       = "ReadIngestionZone"
    actions   = ["s3:GetObject"]
    resources = ["${local.ingestion_arn}/*"]
  }
  statement {
    sid       = "WriteProcessedZone"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.processed_arn}/*"]
  }
}

data "aws_iam_policy_document" "loader" {
  source_policy_documents = concat(
    data.aws_iam_policy_document.redshift_data_api[*].json,
    contains(local.vpc_functions, "loader") ? [data.aws_iam_policy_document.vpc_access.json] : [],
  )

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.loader}:*"]
  }
  statement {
    sid       = "ListProcessedZone"
    actions   = ["s3:ListBucket"]
    resources = [local.processed_arn]
  }
  statement {
    sid       = "ReadProcessedZone"
    actions   = ["s3:GetObject"]
    resources = ["${local.processed_arn}/*"]
  }
  statement {
    # The ingestion manifest of a loaded run holds the source watermark the
    # loader's WatermarkAge metric (the staleness alarm) is computed from.
    sid       = "ReadIngestionManifests"
    actions   = ["s3:GetObject"]
    resources = ["${local.ingestion_arn}/_manifests/*"]
  }
  statement {
    sid       = "WriteProcessedZoneBookkeeping"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [for p in local.loader_write_prefixes : "${local.processed_arn}/${p}*"]
  }
  dynamic "statement" {
    for_each = local.warehouse_secret_enabled ? [1] : []
    content {
      sid       = "ReadWarehouseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.warehouse[0].arn]
    }
  }
}

data "aws_iam_policy_document" "parquet_loader" {
  count = local.parquet_loader_enabled ? 1 : 0

  source_policy_documents = concat(
    data.aws_iam_policy_document.redshift_data_api[*].json,
    contains(local.vpc_functions, "parquet_loader") ? [data.aws_iam_policy_document.vpc_access.json] : [],
  )

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.parquet_loader}:*"]
  }
  statement {
    sid       = "ListDatasetPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.dataset_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.dataset_list_prefixes
    }
  }
  statement {
    sid       = "ReadDatasetPrefixes"
    actions   = ["s3:GetObject"]
    resources = local.dataset_object_arns
  }
  dynamic "statement" {
    for_each = length(local.dataset_write_arns) > 0 ? [1] : []
    content {
      sid       = "WriteCopyManifests"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = local.dataset_write_arns
    }
  }
  dynamic "statement" {
    for_each = local.warehouse_secret_enabled ? [1] : []
    content {
      sid       = "ReadWarehouseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.warehouse[0].arn]
    }
  }
}

# A function in the VPC: Lambda manages its network interfaces with the
# function's own role, and these EC2 actions take no resource narrower than "*".
data "aws_iam_policy_document" "vpc_access" {
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

# The Data API statements both warehouse loaders may run (warehouse_engine =
# "redshift" with redshift_data_api_resource_arn set).
data "aws_iam_policy_document" "redshift_data_api" {
  count = local.data_api_arn != null ? 1 : 0

  statement {
    sid       = "RedshiftDataApiRun"
    actions   = ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"]
    resources = [local.data_api_arn]
  }
  statement {
    # Statement ids are not resources: the condition limits these to the
    # statements this role itself started.
    sid       = "RedshiftDataApiOwnStatements"
    actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "redshift-data:statement-owner-iam-userid"
      values   = ["$${aws:userid}"]
    }
  }
  dynamic "statement" {
    for_each = local.data_api_serverless ? [1] : []
    content {
      sid       = "RedshiftServerlessCredentials"
      actions   = ["redshift-serverless:GetCredentials"]
      resources = [local.data_api_arn]
    }
  }
  dynamic "statement" {
    for_each = local.data_api_cluster != null && var.redshift_db_user == null ? [1] : []
    content {
      sid       = "RedshiftClusterCredentialsWithIam"
      actions   = ["redshift:GetClusterCredentialsWithIAM"]
      resources = [local.data_api_cluster_db_arn]
    }
  }
  dynamic "statement" {
    for_each = local.data_api_cluster != null && var.redshift_db_user != null ? [1] : []
    content {
      # Temporary credentials for exactly one database user, in one database.
      sid     = "RedshiftClusterCredentialsForDbUser"
      actions = ["redshift:GetClusterCredentials"]
      resources = [
        "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbuser:${local.data_api_cluster}/${var.redshift_db_user}",
        local.data_api_cluster_db_arn,
      ]
    }
  }
}

# Redshift COPY reads Parquet from S3 as this role (STARLINE_REDSHIFT_IAM_ROLE).
# Associate it with the cluster or Serverless namespace (docs/deploy-aws.md).
data "aws_iam_policy_document" "redshift_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "redshift_copy" {
  statement {
    sid       = "ListProcessedZone"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.processed_arn]
  }
  statement {
    sid       = "ReadProcessedZone"
    actions   = ["s3:GetObject"]
    resources = ["${local.processed_arn}/*"]
  }
  dynamic "statement" {
    for_each = local.parquet_loader_enabled ? [1] : []
    content {
      sid       = "ReadDatasetPrefixes"
      actions   = ["s3:GetObject"]
      resources = local.dataset_object_arns
    }
  }
  dynamic "statement" {
    for_each = local.parquet_loader_enabled ? [1] : []
    content {
      sid       = "ListDatasetPrefixes"
      actions   = ["s3:ListBucket"]
      resources = [local.dataset_bucket_arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = local.dataset_list_prefixes
      }
    }
  }
}

resource "aws_iam_role" "redshift_copy" {
  count = local.redshift_enabled ? 1 : 0

  name               = "${var.name_prefix}-redshift-copy"
  description        = "Assumed by Redshift to COPY starline's Parquet from S3 (read only)."
  assume_role_policy = data.aws_iam_policy_document.redshift_assume.json
}

resource "aws_iam_role_policy" "redshift_copy" {
  count = local.redshift_enabled ? 1 : 0

  name   = "${var.name_prefix}-redshift-copy-read-only"
  role   = aws_iam_role.redshift_copy[0].id
  policy = data.aws_iam_policy_document.redshift_copy.json
}
