# The secrets themselves, never their values: a value put here would sit in
# Terraform state in plain text. Put the values with the AWS CLI after the
# first apply (docs/deploy-aws.md), as JSON:
#   {"url": "postgres://user:password@host:5432/db"}
# or RDS style:
#   {"engine": "postgres", "host": "...", "port": 5432, "username": "...", "password": "...", "dbname": "..."}

resource "aws_secretsmanager_secret" "source" {
  name                    = "${var.name_prefix}/source"
  description             = "starline: connection to the ToteSys source database (read by the ingestion function)."
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret" "warehouse" {
  count = local.warehouse_secret_enabled ? 1 : 0

  name                    = "${var.name_prefix}/warehouse"
  description             = "starline: connection to the warehouse (read by the loader and the Parquet loader)."
  recovery_window_in_days = var.secret_recovery_window_days
}
