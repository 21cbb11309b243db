variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as \"eu-west-2\"."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, roles, buckets, alarms)."
  type        = string
  default     = "starline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, starting with a letter (it becomes part of bucket and function names)."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "ingestion_bucket_name" {
  description = "Name of the ingestion-zone bucket (CSV). Default: <name_prefix>-ingestion-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.ingestion_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.ingestion_bucket_name))
    error_message = "ingestion_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "processed_bucket_name" {
  description = "Name of the processed-zone bucket (Parquet). Default: <name_prefix>-processed-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.processed_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_name))
    error_message = "processed_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects. Keep false in production: the lake is the pipeline's history."
  type        = bool
  default     = false
}

variable "secret_recovery_window_days" {
  description = "Days a destroyed secret can still be restored; 0 deletes at once (test stacks only: a secret's name stays taken during its recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or from 7 to 30 (Secrets Manager's limits)."
  }
}

variable "ingestion_archive_days" {
  description = "Days after which ingestion-zone objects move to S3 Standard-IA (the lake is immutable history, read again only to replay). 0 keeps them in Standard."
  type        = number
  default     = 30

  validation {
    condition     = var.ingestion_archive_days == 0 || (var.ingestion_archive_days >= 30 && floor(var.ingestion_archive_days) == var.ingestion_archive_days)
    error_message = "ingestion_archive_days must be 0 (never) or a whole number of at least 30 (S3's minimum for Standard-IA)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which replaced or deleted object versions are removed (lease renewals and releases leave such versions in both buckets)."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "lambda_artifacts_dir" {
  description = "Directory holding the zips `npm run package` writes: ingestion_function.zip, transform_function.zip, loader_function.zip, parquet_loader_function.zip, duckdb_layer.zip. Relative paths are read from this infra/ folder."
  type        = string
  default     = "../dist/lambda"
}

variable "lambda_memory_mb" {
  description = "Memory per function in MB, by function (ingestion, transform, loader, parquet_loader); keys left out keep their defaults (512, 2048, 1024, 1024). Lambda gives CPU in proportion to memory."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.lambda_memory_mb : contains(["ingestion", "transform", "loader", "parquet_loader"], k) && v >= 128 && v <= 10240])
    error_message = "lambda_memory_mb keys must be ingestion, transform, loader or parquet_loader, with values from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout per function in seconds, by function; keys left out keep the default 900 (Lambda's maximum: a first full load of a large source takes minutes)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.lambda_timeout_seconds : contains(["ingestion", "transform", "loader", "parquet_loader"], k) && v >= 30 && v <= 900])
    error_message = "lambda_timeout_seconds keys must be ingestion, transform, loader or parquet_loader, with values from 30 to 900."
  }
}

variable "lambda_ephemeral_storage_mb" {
  description = "Size of /tmp per function in MB (STARLINE_SCRATCH_DIR: downloaded lake objects and DuckDB spill), by function; defaults 1024, 4096, 2048, 2048."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.lambda_ephemeral_storage_mb : contains(["ingestion", "transform", "loader", "parquet_loader"], k) && v >= 512 && v <= 10240])
    error_message = "lambda_ephemeral_storage_mb keys must be ingestion, transform, loader or parquet_loader, with values from 512 to 10240."
  }
}

variable "log_level" {
  description = "STARLINE_LOG_LEVEL of every function."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error", "silent"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error, silent."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the functions' logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "ingestion_interval_minutes" {
  description = "Minutes between scheduled ingestion runs. A change waits at most one interval for the next extract; transform and load follow within seconds (S3 events), so 5 minutes meets the 30-minute source-to-warehouse requirement with room for retries."
  type        = number
  default     = 5

  validation {
    condition     = var.ingestion_interval_minutes >= 1 && var.ingestion_interval_minutes <= 20 && floor(var.ingestion_interval_minutes) == var.ingestion_interval_minutes
    error_message = "ingestion_interval_minutes must be a whole number from 1 to 20: a change waits up to one interval, and source-to-warehouse must stay within 30 minutes with time left for the three stages and one retry."
  }
}

variable "staleness_threshold_seconds" {
  description = "The staleness alarm fires when the loader reports the warehouse further behind the source than this (its WatermarkAge metric), or reports nothing for this long."
  type        = number
  default     = 1800

  validation {
    condition     = var.staleness_threshold_seconds >= 2 * 60 * var.ingestion_interval_minutes && var.staleness_threshold_seconds <= 86400 && var.staleness_threshold_seconds % 60 == 0
    error_message = "staleness_threshold_seconds must be a multiple of 60, at most 86400, and at least two ingestion intervals (otherwise a healthy pipeline alarms between runs)."
  }
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (AWS sends a confirmation mail first). Null: no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address such as \"data-team@example.com\"."
  }
}

variable "warehouse_engine" {
  description = "The warehouse the loaders write to: \"postgres\" (PostgreSQL over the network) or \"redshift\" (adds the role Redshift assumes to COPY from the processed bucket and the loader's Data API permissions)."
  type        = string
  default     = "postgres"

  validation {
    condition     = contains(["postgres", "redshift"], var.warehouse_engine)
    error_message = "warehouse_engine must be \"postgres\" or \"redshift\"."
  }
}

variable "warehouse_schema" {
  description = "STARLINE_WAREHOUSE_SCHEMA: the warehouse schema the loader writes (created if missing)."
  type        = string
  default     = "public"

  validation {
    condition     = length(var.warehouse_schema) > 0 && length(var.warehouse_schema) <= 63
    error_message = "warehouse_schema must be 1-63 characters."
  }
}

variable "warehouse_url" {
  description = "A warehouse URL without credentials (e.g. a Redshift Data API URL, IAM-authenticated). When set, no warehouse secret is created and the loaders get STARLINE_WAREHOUSE_URL instead of STARLINE_WAREHOUSE_SECRET_ID. A URL with a password is refused (guards.tf)."
  type        = string
  default     = null
  # Not secret when used as intended, but a mistaken password must not be
  # echoed by plans.
  sensitive = true
}

variable "redshift_data_api_resource_arn" {
  description = "With warehouse_engine = \"redshift\": the Redshift Serverless workgroup ARN or provisioned cluster ARN the loaders may run Data API statements on. Null: no Data API permissions (the loaders connect over the network instead)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_data_api_resource_arn == null || can(regex("^arn:aws[a-z-]*:(redshift-serverless:[a-z0-9-]+:[0-9]{12}:workgroup/.+|redshift:[a-z0-9-]+:[0-9]{12}:cluster:.+)$", var.redshift_data_api_resource_arn))
    error_message = "redshift_data_api_resource_arn must be a Redshift Serverless workgroup ARN (arn:aws:redshift-serverless:<region>:<account>:workgroup/<id>) or a cluster ARN (arn:aws:redshift:<region>:<account>:cluster:<name>)."
  }
}

variable "redshift_database" {
  description = "With a provisioned cluster and the Data API: the database the loaders get temporary credentials for."
  type        = string
  default     = "dev"
}

variable "redshift_db_user" {
  description = "With a provisioned cluster and the Data API: the database user of the URL's db_user (redshift:GetClusterCredentials for that user). Null: the loaders' own IAM identity (GetClusterCredentialsWithIAM)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_db_user == null || can(regex("^[A-Za-z0-9_.@+-]{1,128}$", var.redshift_db_user))
    error_message = "redshift_db_user must be a Redshift user name (letters, digits, _ . @ + -)."
  }
}

variable "vpc_subnet_ids" {
  description = "Private subnets for the functions in vpc_functions, when a database is only reachable inside a VPC. Empty: every function runs outside any VPC. Inside a VPC a function needs a NAT gateway or VPC endpoints for S3 and Secrets Manager (see docs/deploy-aws.md)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.vpc_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "vpc_subnet_ids must be subnet ids such as \"subnet-0abc123\"."
  }
}

variable "vpc_security_group_ids" {
  description = "Security groups of the functions inside the VPC; the database's security group must allow PostgreSQL (5432) from one of them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.vpc_security_group_ids : can(regex("^sg-[0-9a-f]+$", s))]) && (length(var.vpc_security_group_ids) > 0) == (length(var.vpc_subnet_ids) > 0)
    error_message = "vpc_security_group_ids must be security group ids such as \"sg-0abc123\", given exactly when vpc_subnet_ids is."
  }
}

variable "vpc_functions" {
  description = "Which functions run inside the VPC when vpc_subnet_ids is set: the ingestion function (private source database) and, for a private PostgreSQL warehouse, the loader and the Parquet loader. The transform talks only to S3."
  type        = list(string)
  default     = ["ingestion"]

  validation {
    condition     = alltrue([for f in var.vpc_functions : contains(["ingestion", "loader", "parquet_loader"], f)])
    error_message = "vpc_functions may list ingestion, loader and parquet_loader (the transform needs no database)."
  }
}

variable "parquet_loader" {
  description = <<-EOT
    The standalone Parquet loader (datasets already in Parquet, loaded into a warehouse schema).
    enabled: deploy it (needs parquet_loader_function.zip). spec_json: its STARLINE_LOADER_SPEC.
    dataset_bucket and dataset_prefixes: the only objects it (and the Redshift COPY role) may read.
    schedule_expression: an EventBridge schedule such as "rate(1 day)" or "cron(0 3 * * ? *)"; null for none.
  EOT
  type = object({
    enabled             = bool
    spec_json           = optional(string, "{}")
    dataset_bucket      = optional(string, "")
    dataset_prefixes    = optional(list(string), [])
    schedule_expression = optional(string)
  })
  default = { enabled = false }

  validation {
    condition     = can(jsondecode(var.parquet_loader.spec_json))
    error_message = "parquet_loader.spec_json must be valid JSON (the loader spec)."
  }
  validation {
    condition     = !var.parquet_loader.enabled || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.parquet_loader.dataset_bucket)) && length(var.parquet_loader.dataset_prefixes) > 0)
    error_message = "An enabled parquet_loader needs dataset_bucket (a bucket name, no s3://) and at least one dataset prefix."
  }
  validation {
    condition     = alltrue([for p in var.parquet_loader.dataset_prefixes : length(p) > 1 && !startswith(p, "/") && endswith(p, "/") && !strcontains(p, "*")])
    error_message = "parquet_loader.dataset_prefixes must be key prefixes ending in / without a leading / or wildcards (\"datasets/twitter/users/\")."
  }
  validation {
    condition     = var.parquet_loader.schedule_expression == null || can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.parquet_loader.schedule_expression))
    error_message = "parquet_loader.schedule_expression must be rate(...) or cron(...), or null."
  }
}
