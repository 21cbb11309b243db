/**
 * What the applied configuration must have created, compared with what moto
 * holds. Lambda, IAM, EventBridge, CloudWatch and CloudWatch Logs are read
 * with boto3 (moto-inventory.py): package.json carries no JavaScript SDK
 * client for them, and one is not worth a dependency for a test.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import type { MotoServer } from '../../support/moto-server.js'
import { run } from './terraform-stack.js'

/** The configuration's outputs after apply. */
export interface Outputs {
  readonly ingestion_bucket: string
  readonly processed_bucket: string
  readonly function_names: Readonly<Record<string, string>>
  readonly function_role_arns: Readonly<Record<string, string>>
  readonly duckdb_layer_arn: string
  readonly source_secret_arn: string
  readonly warehouse_secret_arn: string | null
  readonly redshift_copy_role_arn: string | null
  readonly alarm_topic_arn: string
}

const ACCOUNT = '123456789012'
const FUNCTIONS = ['ingestion', 'transform', 'loader', 'parquet_loader'] as const

/** The raw API answers moto-inventory.py collects. */
export interface Inventory {
  readonly functions: Record<string, { configuration: FunctionConfiguration; invokeConfig: { MaximumRetryAttempts: number } }>
  readonly layerVersions: { LayerVersionArn: string; CompatibleRuntimes: string[] }[]
  readonly rules: { Name: string; ScheduleExpression: string; State: string }[]
  readonly targets: Record<string, { Arn: string }[]>
  readonly alarms: Alarm[]
  readonly logGroups: { logGroupName: string; retentionInDays: number }[]
  readonly metricFilters: Record<string, { filterPattern: string; metricTransformations: { metricNamespace: string; metricName: string }[] }[]>
  readonly roles: Record<string, { trust: { Statement: { Principal: { Service: string[] } }[] }; inline: { Statement: Statement[] }[]; attached: unknown[] }>
}

/** Reads everything the checks below need from moto in one boto3 process. */
export async function readInventory(moto: MotoServer, outputs: Outputs): Promise<Inventory> {
  const roles = [...Object.values(outputs.function_role_arns), ...(outputs.redshift_copy_role_arn ? [outputs.redshift_copy_role_arn] : [])]
  const request = {
    endpoint: moto.endpoint,
    region: 'eu-west-2',
    functions: Object.values(outputs.function_names),
    layer: 'starline-duckdb',
    prefix: 'starline-',
    roles: roles.map((arn) => arn.split('/').pop()),
  }
  const script = fileURLToPath(new URL('./moto-inventory.py', import.meta.url))
  const result = await run('python3', [script], { input: JSON.stringify(request) })
  if (result.code !== 0) throw new Error(`moto-inventory.py failed: ${result.stderr.trim()}`)
  return JSON.parse(result.stdout) as Inventory
}

interface FunctionConfiguration {
  Runtime: string
  Handler: string
  MemorySize: number
  Timeout: number
  EphemeralStorage: { Size: number }
  Layers?: { Arn: string }[]
  Role: string
  Environment: { Variables: Record<string, string> }
  VpcConfig?: { SubnetIds: string[]; SecurityGroupIds: string[] }
}

export function checkFunctions(inventory: Inventory, outputs: Outputs, expected: { warehouseSchema: string; loaderSpec: string }): void {
  assert.deepEqual(Object.keys(outputs.function_names).sort(), [...FUNCTIONS].sort())
  const lake = { STARLINE_INGESTION_URL: `s3://${outputs.ingestion_bucket}`, STARLINE_PROCESSED_URL: `s3://${outputs.processed_bucket}`, STARLINE_SCRATCH_DIR: '/tmp', STARLINE_LOG_LEVEL: 'info' }
  const warehouse = {
    STARLINE_WAREHOUSE_SECRET_ID: outputs.warehouse_secret_arn!,
    STARLINE_WAREHOUSE_SCHEMA: expected.warehouseSchema,
    STARLINE_REDSHIFT_IAM_ROLE: outputs.redshift_copy_role_arn!,
  }
  const spec = expected.loaderSpec
  const environments: Record<(typeof FUNCTIONS)[number], Record<string, string>> = {
    ingestion: { ...lake, STARLINE_SOURCE_SECRET_ID: outputs.source_secret_arn },
    transform: lake,
    loader: { ...lake, ...warehouse },
    parquet_loader: { ...lake, ...warehouse, STARLINE_LOADER_SPEC: spec },
  }
  const sizes = { ingestion: [512, 1024], transform: [2048, 4096], loader: [1024, 2048], parquet_loader: [1024, 2048] } as const
  for (const name of FUNCTIONS) {
    const { configuration: config, invokeConfig } = inventory.functions[outputs.function_names[name]!]!
    assert.equal(config.Runtime, 'nodejs20.x', name)
    assert.equal(config.Handler, 'index.handler', name)
    assert.equal(config.Timeout, 900, name)
    assert.deepEqual([config.MemorySize, config.EphemeralStorage.Size], sizes[name], name)
    assert.equal(config.Role, outputs.function_role_arns[name], name)
    assert.deepEqual(config.Environment.Variables, environments[name], name)
    // DuckDB runs in every stage but the extract: only those carry the layer.
    assert.deepEqual((config.Layers ?? []).map((l) => l.Arn), name === 'ingestion' ? [] : [outputs.duckdb_layer_arn], name)
    assert.equal(invokeConfig.MaximumRetryAttempts, 2, name)
    // Only the functions that reach a database are in the VPC (the test lists ingestion and loader).
    const inVpc = name === 'ingestion' || name === 'loader'
    assert.deepEqual(
      [[...(config.VpcConfig?.SubnetIds ?? [])].sort(), config.VpcConfig?.SecurityGroupIds ?? []],
      inVpc ? [['subnet-0abc1234', 'subnet-0def5678'], ['sg-0abc1234']] : [[], []],
      name,
    )
  }
  assert.deepEqual(
    inventory.layerVersions.map((l) => [l.LayerVersionArn, l.CompatibleRuntimes]),
    [[outputs.duckdb_layer_arn, ['nodejs20.x']]],
  )
}

export function checkSchedules(inventory: Inventory, outputs: Outputs): void {
  assert.deepEqual(
    inventory.rules.map((r) => [r.Name, r.ScheduleExpression, r.State]).sort(),
    [
      ['starline-ingestion-schedule', 'rate(5 minutes)', 'ENABLED'],
      ['starline-parquet-loader-schedule', 'rate(1 day)', 'ENABLED'],
    ],
  )
  for (const [rule, fn] of [['starline-ingestion-schedule', 'ingestion'], ['starline-parquet-loader-schedule', 'parquet_loader']] as const) {
    assert.deepEqual(inventory.targets[rule]?.map((t) => t.Arn), [`arn:aws:lambda:eu-west-2:${ACCOUNT}:function:${outputs.function_names[fn]}`])
  }
}

interface Alarm {
  AlarmName: string
  AlarmActions: string[]
  OKActions: string[]
  TreatMissingData: string
  ComparisonOperator: string
  Threshold: number
  Namespace?: string
  MetricName?: string
  Statistic?: string
  Period?: number
  Dimensions?: { Name: string; Value: string }[]
  Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[]
}

export function checkAlarms(inventory: Inventory, outputs: Outputs): void {
  const alarms = inventory.alarms
  const byName = new Map(alarms.map((a) => [a.AlarmName, a]))
  assert.deepEqual([...byName.keys()].sort(), [...FUNCTIONS.map((f) => `${outputs.function_names[f]}-errors`), 'starline-warehouse-stale'].sort())
  for (const alarm of alarms) {
    assert.deepEqual([alarm.AlarmActions, alarm.OKActions], [[outputs.alarm_topic_arn], [outputs.alarm_topic_arn]], alarm.AlarmName)
  }
  const stale = byName.get('starline-warehouse-stale')!
  assert.deepEqual(
    [stale.Namespace, stale.MetricName, stale.Dimensions, stale.Statistic, stale.Period, stale.ComparisonOperator, stale.Threshold, stale.TreatMissingData],
    ['Starline', 'WatermarkAge', [{ Name: 'Function', Value: 'loader' }], 'Maximum', 1800, 'GreaterThanThreshold', 1800, 'breaching'],
  )
  for (const fn of FUNCTIONS) {
    const name = outputs.function_names[fn]!
    const alarm = byName.get(`${name}-errors`)!
    assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold')
    assert.equal(alarm.Threshold, 1)
    const stats = (alarm.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
    assert.deepEqual(
      stats.map((m) => [m.Namespace, m.MetricName, m.Dimensions]).sort(),
      [
        ['AWS/Lambda', 'Errors', [{ Name: 'FunctionName', Value: name }]],
        ['Starline/LogErrors', fn, []],
      ],
      alarm.AlarmName,
    )
    assert.deepEqual(inventory.logGroups.filter((g) => g.logGroupName === `/aws/lambda/${name}`).map((g) => g.retentionInDays), [30])
    assert.deepEqual(
      (inventory.metricFilters[`/aws/lambda/${name}`] ?? []).map((f) => [f.filterPattern, f.metricTransformations.map((t) => `${t.metricNamespace}/${t.metricName}`)]),
      [['{ $.level = "error" }', [`Starline/LogErrors/${fn}`]]],
    )
  }
}

interface Statement {
  Action: string | string[]
  Resource: string | string[]
  Effect: string
  Condition?: Record<string, Record<string, string | string[]>>
}

/** A policy flattened to "action resource" grants, with " if <condition>" where one applies. */
function grants(statements: readonly Statement[]): string[] {
  const list = (v: string | string[]) => (Array.isArray(v) ? v : [v])
  return statements
    .flatMap((s) => {
      assert.equal(s.Effect, 'Allow')
      const condition = s.Condition ? ` if ${JSON.stringify(s.Condition)}` : ''
      return list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} ${r}${condition}`))
    })
    .sort()
}

function rolePolicy(inventory: Inventory, role: string): string[] {
  const found = inventory.roles[role]
  assert.ok(found, `role ${role} exists`)
  assert.equal(found.inline.length, 1, `${role} has exactly one inline policy`)
  assert.deepEqual(found.attached, [], `${role} has no managed policy`)
  return grants(found.inline[0]!.Statement)
}

export function checkPolicies(inventory: Inventory, outputs: Outputs, redshift: { workgroupArn: string }): void {
  const ingestion = `arn:aws:s3:::${outputs.ingestion_bucket}`
  const processed = `arn:aws:s3:::${outputs.processed_bucket}`
  const datasets = 'arn:aws:s3:::starline-datasets'
  const logs = (fn: string) => [`logs:CreateLogStream arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/aws/lambda/${outputs.function_names[fn]}:*`, `logs:PutLogEvents arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/aws/lambda/${outputs.function_names[fn]}:*`]
  const rw = (arn: string) => ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'].map((a) => `${a} ${arn}`)
  const putDelete = (arn: string) => [`s3:PutObject ${arn}`, `s3:DeleteObject ${arn}`]
  // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's own policy variable, which the policy holds literally
  const owner = JSON.stringify({ StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } })
  const datasetList = JSON.stringify({ StringLike: { 's3:prefix': ['twitter/users/', 'twitter/users/*', 'twitter/tweets/', 'twitter/tweets/*'] } })
  const dataApi = [
    `redshift-data:ExecuteStatement ${redshift.workgroupArn}`,
    `redshift-data:BatchExecuteStatement ${redshift.workgroupArn}`,
    ...['DescribeStatement', 'GetStatementResult', 'CancelStatement'].map((a) => `redshift-data:${a} * if ${owner}`),
    `redshift-serverless:GetCredentials ${redshift.workgroupArn}`,
  ]
  const vpc = ['CreateNetworkInterface', 'DescribeNetworkInterfaces', 'DeleteNetworkInterface', 'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses'].map(
    (a) => `ec2:${a} *`,
  )
  const datasetRead = [`s3:ListBucket ${datasets} if ${datasetList}`, `s3:GetObject ${datasets}/twitter/users/*`, `s3:GetObject ${datasets}/twitter/tweets/*`]
  const expected: Record<string, string[]> = {
    ingestion: [...logs('ingestion'), `s3:ListBucket ${ingestion}`, ...rw(`${ingestion}/*`), `secretsmanager:GetSecretValue ${outputs.source_secret_arn}`, ...vpc],
    transform: [
      ...logs('transform'),
      `s3:ListBucket ${ingestion}`,
      `s3:ListBucket ${processed}`,
      `s3:GetObject ${ingestion}/*`,
      ...rw(`${processed}/*`),
    ],
    loader: [
      ...logs('loader'),
      `s3:ListBucket ${processed}`,
      `s3:GetObject ${processed}/*`,
      `s3:GetObject ${ingestion}/_manifests/*`,
      ...['_probe/*', '_failures/load/*', '_copy/*'].flatMap((p) => putDelete(`${processed}/${p}`)),
      `secretsmanager:GetSecretValue ${outputs.warehouse_secret_arn}`,
      ...dataApi,
      ...vpc,
    ],
    parquet_loader: [
      ...logs('parquet_loader'),
      ...datasetRead,
      // On Redshift it writes each table's COPY manifest beside the table's files, and nothing else.
      ...['twitter/users/', 'twitter/tweets/'].flatMap((p) => [...putDelete(`${datasets}/${p}_starline_manifests/*`), ...putDelete(`${datasets}/${p}_probe/*`)]),
      `secretsmanager:GetSecretValue ${outputs.warehouse_secret_arn}`,
      ...dataApi,
    ],
  }
  for (const fn of FUNCTIONS) {
    const role = outputs.function_role_arns[fn]!.split('/').pop()!
    assert.deepEqual(rolePolicy(inventory, role), expected[fn]!.sort(), `the ${fn} function's policy`)
  }
  const copyRole = outputs.redshift_copy_role_arn!.split('/').pop()!
  assert.deepEqual(
    rolePolicy(inventory, copyRole),
    [`s3:ListBucket ${processed}`, `s3:GetBucketLocation ${processed}`, `s3:GetObject ${processed}/*`, ...datasetRead].sort(),
    'the Redshift COPY role reads the processed zone and the datasets, and writes nothing',
  )
  assert.deepEqual(inventory.roles[copyRole]!.trust.Statement.map((s) => s.Principal.Service), [['redshift.amazonaws.com', 'redshift-serverless.amazonaws.com']])
}
