# The two lake zones. Objects are immutable by design (the stages never
# overwrite a key); versioning keeps what a mistaken delete or overwrite
# outside starline would lose, and lifecycle rules trim the versions that
# lease renewals and releases leave behind.

resource "aws_s3_bucket" "ingestion" {
  bucket        = local.ingestion_bucket
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket" "processed" {
  bucket        = local.processed_bucket
  force_destroy = var.force_destroy_buckets
}

locals {
  lake_buckets = {
    ingestion = aws_s3_bucket.ingestion.id
    processed = aws_s3_bucket.processed.id
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  for_each = local.lake_buckets

  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  for_each = local.lake_buckets

  bucket = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "lake" {
  for_each = local.lake_buckets

  bucket = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

# Objects must be owned by the bucket owner: ACLs play no part in access.
resource "aws_s3_bucket_ownership_controls" "lake" {
  for_each = local.lake_buckets

  bucket = each.value
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "ingestion" {
  bucket = aws_s3_bucket.ingestion.id

  # NOTE: current objects are never expired. The newest manifest is the
  # pipeline's state and every CSV is history a replay needs; older runs move
  # to a cheaper storage class instead.
  rule {
    id     = "archive-ingested-runs"
    status = var.ingestion_archive_days > 0 ? "Enabled" : "Disabled"
    filter {
      prefix = ""
    }
    transition {
      days          = max(var.ingestion_archive_days, 30)
      storage_class = "STANDARD_IA"
    }
  }

  rule {
    id     = "trim-old-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

resource "aws_s3_bucket_lifecycle_configuration" "processed" {
  bucket = aws_s3_bucket.processed.id

  rule {
    id     = "trim-old-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

# A manifest is written last and is a run's commit marker, so its creation is
# the one event worth reacting to: the transform follows the ingestion
# manifests, the loader the processed ones. Nothing else in a zone ends in
# .json under _manifests/.
resource "aws_s3_bucket_notification" "ingestion" {
  bucket = aws_s3_bucket.ingestion.id

  lambda_function {
    id                  = "transform-on-ingestion-manifest"
    lambda_function_arn = aws_lambda_function.function["transform"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "_manifests/"
    filter_suffix       = ".json"
  }

  depends_on = [aws_lambda_permission.transform_from_s3]
}

resource "aws_s3_bucket_notification" "processed" {
  bucket = aws_s3_bucket.processed.id

  lambda_function {
    id                  = "loader-on-processed-manifest"
    lambda_function_arn = aws_lambda_function.function["loader"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "_manifests/"
    filter_suffix       = ".json"
  }

  depends_on = [aws_lambda_permission.loader_from_s3]
}
