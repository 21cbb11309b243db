# Alerts by email: a failed invocation of any function, and a warehouse that
# falls behind the source. The handlers write their metrics in CloudWatch's
# Embedded Metric Format (namespace Starline, dimension Function); errors are
# counted from two sides, Lambda's own Errors metric (a handler throws on
# failure) and error-level JSON log lines (which also catch failures a retry
# later hides).

# NOTE: not encrypted with the AWS-managed aws/sns key: CloudWatch alarms
# cannot publish to a topic under that key. Alarm messages hold no data.
resource "aws_sns_topic" "alarms" {
  name = "${var.name_prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_log_metric_filter" "error_lines" {
  for_each = toset(local.function_names)

  name           = "${local.lambda_names[each.key]}-error-lines"
  log_group_name = aws_cloudwatch_log_group.function[each.key].name
  pattern        = "{ $.level = \"error\" }"

  metric_transformation {
    namespace     = "Starline/LogErrors"
    name          = each.key
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = toset(local.function_names)

  alarm_name          = "${local.lambda_names[each.key]}-errors"
  alarm_description   = "starline ${each.key}: an invocation failed or logged an error in the last 5 minutes. Read /aws/lambda/${local.lambda_names[each.key]} for the one-line reason."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "errors"
    expression  = "FILL(invocation_errors, 0) + FILL(logged_errors, 0)"
    label       = "Failed invocations and error log lines"
    return_data = true
  }

  metric_query {
    id = "invocation_errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.function[each.key].function_name }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "logged_errors"
    metric {
      namespace   = aws_cloudwatch_log_metric_filter.error_lines[each.key].metric_transformation[0].namespace
      metric_name = aws_cloudwatch_log_metric_filter.error_lines[each.key].metric_transformation[0].name
      period      = 300
      stat        = "Sum"
    }
  }
}

# The loader's WatermarkAge is how far the warehouse is behind the source
# after each load. One period as long as the threshold: the alarm fires when
# a load reports the warehouse further behind than the threshold, or when no
# load reports at all for that long (missing data is breaching): both mean
# the freshness requirement is not met.
resource "aws_cloudwatch_metric_alarm" "staleness" {
  alarm_name          = "${var.name_prefix}-warehouse-stale"
  alarm_description   = "starline: the warehouse is more than ${var.staleness_threshold_seconds} s behind the source, or nothing was loaded for that long. Check the three functions' errors and logs."
  namespace           = "Starline"
  metric_name         = "WatermarkAge"
  dimensions          = { Function = "loader" }
  statistic           = "Maximum"
  period              = var.staleness_threshold_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.staleness_threshold_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
