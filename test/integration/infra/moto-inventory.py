"""Reads back what a Terraform apply created on moto_server, with boto3 (the
AWS SDK for Python, installed with moto), in one process: one AWS CLI call per
resource costs a Python start-up each, which made the test minutes slower.

Input (stdin, JSON): {"endpoint", "region", "functions": [names], "layer",
"prefix", "roles": [names]}. Output (stdout, JSON): the raw API answers the
test compares, keyed by resource.
"""
import json
import sys

import boto3

request = json.load(sys.stdin)
session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=request["region"])


def client(service):
    return session.client(service, endpoint_url=request["endpoint"])


lambda_, events, cloudwatch, logs, iam = (client(s) for s in ("lambda", "events", "cloudwatch", "logs", "iam"))
prefix = request["prefix"]

functions = {}
for name in request["functions"]:
    functions[name] = {
        "configuration": lambda_.get_function_configuration(FunctionName=name),
        "invokeConfig": lambda_.get_function_event_invoke_config(FunctionName=name),
    }

rules = events.list_rules(NamePrefix=prefix)["Rules"]
targets = {rule["Name"]: events.list_targets_by_rule(Rule=rule["Name"])["Targets"] for rule in rules}

log_groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"]
metric_filters = {g["logGroupName"]: logs.describe_metric_filters(logGroupName=g["logGroupName"])["metricFilters"] for g in log_groups}

roles = {}
for role in request["roles"]:
    inline = [
        iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    roles[role] = {
        "trust": iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
        "inline": inline,
        "attached": iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"],
    }

inventory = {
    "functions": functions,
    "layerVersions": lambda_.list_layer_versions(LayerName=request["layer"])["LayerVersions"],
    "rules": rules,
    "targets": targets,
    "alarms": cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"],
    "logGroups": log_groups,
    "metricFilters": metric_filters,
    "roles": roles,
}
json.dump(inventory, sys.stdout, default=str)
