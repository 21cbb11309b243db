# Checks that cannot be variable validations: Terraform prints the values a
# failing validation's condition refers to, even for a sensitive variable,
# so a password in warehouse_url would be echoed into the plan's log. Here
# the condition sees only a boolean.

locals {
  warehouse_url_holds_password = var.warehouse_url != null && can(regex("://[^/@]*:[^/@]*@", nonsensitive(var.warehouse_url)))
}

resource "terraform_data" "guards" {
  lifecycle {
    precondition {
      condition     = !local.warehouse_url_holds_password
      error_message = "warehouse_url must not hold a password (it would be stored in Terraform state and in the function configuration): leave warehouse_url null and put the URL in the warehouse secret instead."
    }
  }
}
