# Copy to terraform.tfvars (git-ignored) and adjust. Every variable is
# described, with its default and validation, in variables.tf.

aws_region  = "eu-west-2"
name_prefix = "starline"
alarm_email = "data-team@example.com"

# The ingestion function reaches a private source database through the VPC.
# vpc_subnet_ids         = ["subnet-0abc1234", "subnet-0def5678"]
# vpc_security_group_ids = ["sg-0abc1234"]
# vpc_functions          = ["ingestion", "loader"] # add the loader for a private PostgreSQL warehouse

# ingestion_interval_minutes  = 5
# staleness_threshold_seconds = 1800

# warehouse_engine               = "redshift"
# redshift_data_api_resource_arn = "arn:aws:redshift-serverless:eu-west-2:123456789012:workgroup/<id>"
# warehouse_url                  = "<a Data API URL without credentials; see docs/redshift-warehouse.md>"
