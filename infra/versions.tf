# Terraform 1.9+ for validations that read other variables; the AWS provider
# 5.x line is the one the offline mirror on the development machines carries.
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0, < 6.0.0"
    }
  }
}
